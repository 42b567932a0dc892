"""The agenda: which window a word means, and the events said in the person's zone (pure)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.calendar.model import CalendarError, CalendarReader, Event, Window

SPANS = ("today", "tomorrow", "week")
MAX_DAYS = 31


def window_for(span: str, now: datetime, tz: ZoneInfo, days: int | None = None) -> Window:
    """``today``, ``tomorrow``, ``week`` (today and the next six days) or an ISO date,
    optionally ``days`` long; local midnights in ``tz``. ValueError names what was wrong."""
    today = now.astimezone(tz).date()
    word = span.strip().lower() or "today"
    if word == "today":
        first, length = today, 1
    elif word == "tomorrow":
        first, length = today + timedelta(days=1), 1
    elif word == "week":
        first, length = today, 7
    else:
        try:
            first, length = date.fromisoformat(word), 1
        except ValueError:
            raise ValueError(f"'{span}' is not today, tomorrow, week or a date like "
                             f"{today.isoformat()}") from None
    if days is not None:
        if not 1 <= days <= MAX_DAYS:
            raise ValueError(f"days must be between 1 and {MAX_DAYS}")
        length = days
    return Window(datetime.combine(first, time(), tz),
                  datetime.combine(first + timedelta(days=length), time(), tz))


def _day(day: date) -> str:
    return f"{day:%a} {day.day} {day:%b}"


def _line(event: Event, day: date, tz: ZoneInfo, ids: bool = False) -> str:
    start, end = event.start.astimezone(tz), event.end.astimezone(tz)
    where = f" ({event.location})" if event.location else ""
    if ids and event.uid:  # for the model: which event a change names, if it repeats
        where += f" [id {event.uid}{', repeats' if event.recurring else ''}]"
    if event.all_day:
        last = (end - timedelta(days=1)).date()
        if day > start.date():
            return f"  all day  {event.title}{where}, continued"
        until = f", until {_day(last)}" if last > start.date() else ""
        return f"  all day  {event.title}{where}{until}"
    began = start.date() < day
    head = "   …" if began else f"{start:%H:%M}"
    if end > datetime.combine(day + timedelta(days=1), time(), tz):  # ends on a later day
        tail = f"{_day(end.date())} {end:%H:%M}"
    else:
        tail = f"{end:%H:%M}" if end > start else ""
    span = f"{head}–{tail}" if tail else head
    return f"  {span}  {event.title}{where}"


def render(events: Sequence[Event], window: Window, tz: ZoneInfo, ids: bool = False) -> str:
    """Day by day, each event under the days it touches (a multi-day event under each);
    days without events are left out. Times in ``tz``."""
    first = window.start.astimezone(tz).date()
    last = (window.end.astimezone(tz) - timedelta(microseconds=1)).date()
    lines: list[str] = []
    day = first
    while day <= last:
        start = datetime.combine(day, time(), tz)
        end = datetime.combine(day + timedelta(days=1), time(), tz)
        today = [e for e in events if e.start < end and (e.end > start or
                                                         (e.end == e.start and e.start >= start))]
        if today:
            lines.append(_day(day))
            lines.extend(_line(e, day, tz, ids) for e in today)
        day += timedelta(days=1)
    if not lines:
        return f"Nothing on your calendar {_said(window, tz)}."
    return "\n".join(lines)


def _said(window: Window, tz: ZoneInfo) -> str:
    first = window.start.astimezone(tz).date()
    last = (window.end.astimezone(tz) - timedelta(microseconds=1)).date()
    if first == last:
        return f"on {_day(first)}"
    return f"from {_day(first)} to {_day(last)}"


NO_CALENDAR = ("I can't see a calendar of yours: link yours in our private chat with "
               "/calendar connect URL USERNAME (my owner's comes from bot.toml).")


async def agenda_text(calendar: CalendarReader | None, span: str, now: datetime,
                      tz: ZoneInfo, days: int | None = None, ids: bool = False) -> str:
    """The agenda for ``span``, or one line saying why there is none."""
    if calendar is None:
        return NO_CALENDAR
    try:
        window = window_for(span, now, tz, days)
    except ValueError as err:
        return f"{err}."
    try:
        events = await calendar.events(window, tz)
    except CalendarError as err:
        return str(err)
    return render(events, window, tz, ids)
