"""What a scheduled turn says when it comes due (no model call)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from core.calendar.agenda import render
from core.calendar.model import CalendarError, CalendarReader, Window
from core.events import ScheduledTurn
from core.ids import PersonId
from core.lists.store import ListReader
from core.schedule.model import Kind, ScheduleStore
from core.schedule.times import local_day_bounds, say_local, zone


class Planner(Protocol):
    """The roles a due turn reads (the Store has them)."""

    @property
    def schedule(self) -> ScheduleStore: ...

    @property
    def lists(self) -> ListReader: ...


LATE = timedelta(minutes=2)  # later than this, the reminder says it is late and why


def reminder_text(turn: ScheduledTurn, now: datetime) -> str:
    when = say_local(turn.due_at, turn.timezone, now)
    if now - turn.due_at > LATE:
        return (f"⏰ Reminder: {turn.text}\n(This was due {when}; I couldn't send it then, "
                "sorry it's late.)")
    return f"⏰ Reminder: {turn.text} ({when})"


async def _events(calendar: CalendarReader | None, window: Window, tz: str) -> list[str]:
    """Today's calendar lines for the briefing; one line when the calendar can't be read."""
    if calendar is None:
        return []
    try:
        events = await calendar.events(window, zone(tz))
    except CalendarError as err:
        return ["On your calendar:", f"- ({err})"]
    if not events:
        return []
    lines = render(events, window, zone(tz)).splitlines()[1:]  # the day's own heading
    return ["On your calendar:", *(f"- {line.strip()}" for line in lines)]


async def briefing_text(store: Planner, person_id: PersonId, turn: ScheduledTurn,
                        now: datetime, calendar: CalendarReader | None = None) -> str:
    """Today's events, reminders and open list items; "" on a day with nothing to say."""
    tz = turn.timezone
    start, end = local_day_bounds(now.astimezone(zone(tz)).date(), tz)
    today = [s for s in await store.schedule.for_person(person_id, Kind.REMINDER)
             if start <= s.due_at < end]
    items = await store.lists.items(person_id)
    events = await _events(calendar, Window(start, end), tz)
    if not today and not items and not events:
        return ""
    local = now.astimezone(zone(tz))
    lines = [f"Good morning! Your {local:%A} {local.day} {local:%B}:", *events]
    if today:
        lines.append("Reminders today:")
        lines += [f"- {s.due_at.astimezone(zone(tz)):%H:%M} {s.text}" for s in today]
    lists: dict[str, list[str]] = {}
    for item in items:
        lists.setdefault(item.list, []).append(item.item)
    if lists:
        lines.append("Open on your lists:")
        lines += [f"- {name}: {', '.join(open_items)}" for name, open_items in lists.items()]
    return "\n".join(lines)


async def scheduled_text(store: Planner, person_id: PersonId, turn: ScheduledTurn,
                         now: datetime, calendar: CalendarReader | None = None) -> str:
    if turn.kind == Kind.BRIEFING.value:
        return await briefing_text(store, person_id, turn, now, calendar)
    return reminder_text(turn, now)
