"""Event reminders (``/prefs event_reminder 15``): a message that many minutes before each
timed event on the person's calendar, through the scheduler, exactly once.

Each reminder is a one-shot scheduled turn (kind ``event_reminder``) whose text names the
event and its local start ("Dentist at 15:00"). ``sync`` reads the next ``HORIZON`` of the
calendar and makes the rows match it: a moved event's reminder is cancelled and a new one
set for its new time, a cancelled event's is cancelled, a new event gets one. An occurrence
fires once (the inbox dedupes its id), and one whose time has passed is never set again.

When the calendar is read (no model call, ever): when the preference is set, right after
Kith itself creates, moves or cancels an event, and by a silent hourly scheduled turn
(kind ``event_sync``) — that is how changes other clients make are found, within the hour.
A calendar that cannot be read changes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Protocol

from core.calendar.model import CalendarError, CalendarReader, Event, Window
from core.events import Inbound, ScheduledTurn
from core.ids import PersonId
from core.logging import get_logger
from core.schedule.model import Kind, NewSchedule, ScheduleStore
from core.schedule.times import next_occurrence, zone

log = get_logger("kith.offers")
PREF = "event_reminder"
HORIZON = timedelta(days=2)  # read this far ahead at each sync (hourly, so ample)
SYNC_RULE = "FREQ=HOURLY"
MAX_LEAD = 24 * 60


class Roles(Protocol):
    @property
    def schedule(self) -> ScheduleStore: ...

    async def preferences(self, person_id: PersonId) -> dict[str, str]: ...


def lead_of(value: str | None) -> int | None:
    """Minutes before an event, from the stored preference; None when off."""
    if value is None or not value.strip().isdigit():
        return None
    minutes = int(value)
    return minutes if 0 < minutes <= MAX_LEAD else None


def label(event: Event, tz_name: str) -> str:
    return f"{event.title} at {event.start.astimezone(zone(tz_name)):%H:%M}"


def wanted(events: Sequence[Event], lead: int, now: datetime,
           tz_name: str) -> Counter[tuple[str, datetime]]:
    """(text, when to send) of each reminder the events want; pure."""
    return Counter((label(e, tz_name), e.start - timedelta(minutes=lead)) for e in events
                   if not e.all_day and e.start - timedelta(minutes=lead) > now)


async def sync(store: Roles, person_id: PersonId, calendar: CalendarReader | None, tz_name: str,
               origin: Inbound, now: datetime) -> tuple[int, int] | None:
    """Make the person's event reminders match their calendar: (added, cancelled), or None
    when the calendar could not be read (nothing changed)."""
    lead = lead_of((await store.preferences(person_id)).get(PREF))
    have = [s for s in await store.schedule.for_person(person_id, Kind.EVENT)]
    want: Counter[tuple[str, datetime]] = Counter()
    if lead is not None and calendar is not None:
        window = Window(now, now + HORIZON + timedelta(minutes=lead))
        try:
            events = await calendar.events(window, zone(tz_name))
        except CalendarError as err:
            log.warning("event_reminders_unread", error=str(err))
            return None
        want = wanted(events, lead, now, tz_name)
    cancelled = 0
    for item in have:
        key = (item.text, item.due_at)
        if want[key] > 0:
            want[key] -= 1  # still right: kept as it is
            continue
        await store.schedule.cancel(person_id, item.id)
        cancelled += 1
    added = 0
    for (text, due), count in want.items():
        for _ in range(count):
            await store.schedule.add(NewSchedule(
                person_id=person_id, kind=Kind.EVENT, origin=origin, text=text,
                timezone=tz_name, rule=None, due_at=due,
                anchor=due.astimezone(zone(tz_name)).replace(tzinfo=None)), now)
            added += 1
    if added or cancelled:
        log.info("event_reminders_synced", added=added, cancelled=cancelled)
    return added, cancelled


async def start(store: Roles, person_id: PersonId, calendar: CalendarReader | None, tz_name: str,
                origin: Inbound, now: datetime) -> tuple[int, int] | None:
    """The preference was set: the hourly sync turn exists once, and a sync runs now."""
    if not await store.schedule.for_person(person_id, Kind.EVENT_SYNC):
        anchor = now.astimezone(zone(tz_name)).replace(tzinfo=None, second=0, microsecond=0)
        due = next_occurrence(SYNC_RULE, anchor, tz_name, now) or now + timedelta(hours=1)
        await store.schedule.add(NewSchedule(
            person_id=person_id, kind=Kind.EVENT_SYNC, origin=origin, text="",
            timezone=tz_name, rule=SYNC_RULE, due_at=due, anchor=anchor), now)
    return await sync(store, person_id, calendar, tz_name, origin, now)


async def stop(store: Roles, person_id: PersonId) -> int:
    """The preference was turned off: every event reminder and the sync turn go."""
    gone = 0
    for kind in (Kind.EVENT, Kind.EVENT_SYNC):
        for item in await store.schedule.for_person(person_id, kind):
            await store.schedule.cancel(person_id, item.id)
            gone += kind is Kind.EVENT
    return gone


async def after_change(store: Roles, person_id: PersonId, calendar: CalendarReader | None,
                       tz_name: str, origin: Inbound, now: datetime) -> None:
    """Kith changed the person's calendar: their reminders follow at once (when on)."""
    if await store.schedule.for_person(person_id, Kind.EVENT_SYNC):
        await sync(store, person_id, calendar, tz_name, origin, now)


def reminder_text(turn: ScheduledTurn) -> str:
    return f"📅 Coming up: {turn.text}"


async def still_on(calendar: CalendarReader | None, turn: ScheduledTurn,
                   lead: int | None, now: datetime) -> bool:
    """At send time: the event has not begun and is still there at that time (one read of
    the calendar; a calendar that cannot be read lets the reminder go rather than lose it)."""
    if lead is None:
        return False  # turned off since it was set
    start = turn.due_at + timedelta(minutes=lead)
    if now >= start:
        return False  # sent this late it would announce the past (Kith was down)
    if calendar is None:
        return True
    try:
        events = await calendar.events(Window(start, start + timedelta(minutes=1)),
                                       zone(turn.timezone))
    except CalendarError:
        return True
    return any(not e.all_day and e.start == start and label(e, turn.timezone) == turn.text
               for e in events)
