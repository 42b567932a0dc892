"""iCalendar text for what Kith writes: a new event, a moved event or occurrence, a cancelled
occurrence (pure; icalendar builds and parses, recurring-ical-events finds occurrences).

``occurrence`` is the local day of one occurrence of a series as the agenda showed it; the
change then applies to that occurrence alone (an override with its RECURRENCE-ID, or an
EXDATE), otherwise to the whole event or series.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from core.calendar.model import CalendarError, NewEvent

PRODID = "-//Kith//calendar//EN"


def _stamp(now: datetime) -> datetime:
    return now.astimezone(ZoneInfo("UTC")).replace(microsecond=0)


def new_event(event: NewEvent, uid: str, now: datetime) -> str:
    cal: Any = icalendar.Calendar()
    cal.add("PRODID", PRODID)
    cal.add("VERSION", "2.0")
    vevent: Any = icalendar.Event()
    vevent.add("UID", uid)
    vevent.add("DTSTAMP", _stamp(now))
    vevent.add("SUMMARY", event.title)
    if event.all_day:
        vevent.add("DTSTART", event.start.date())
        vevent.add("DTEND", max(event.end.date(), event.start.date() + timedelta(days=1)))
    else:
        vevent.add("DTSTART", event.start.replace(microsecond=0))
        vevent.add("DTEND", event.end.replace(microsecond=0))
    if event.location:
        vevent.add("LOCATION", event.location)
    if event.notes:
        vevent.add("DESCRIPTION", event.notes)
    cal.add_component(vevent)
    cal.add_missing_timezones()
    return str(cal.to_ical().decode())


def _master(cal: Any, uid: str) -> Any:
    for component in cal.walk("VEVENT"):
        if str(component.get("UID", "")) == uid and component.get("RECURRENCE-ID") is None:
            return component
    raise CalendarError("That event is not on the calendar any more.")


def _is_series(master: Any) -> bool:
    return bool(master.get("RRULE") or master.get("RDATE"))


def _occurrence(cal: Any, day: date, tz: ZoneInfo) -> Any:
    start = datetime.combine(day, time(), tz)
    found = list(recurring_ical_events.of(cal).between(start, start + timedelta(days=1)))
    if not found:
        raise CalendarError(f"The event has no occurrence on {day:%A %d %B}.")
    return found[0]


def _set_times(component: Any, start: datetime | date, end: datetime | date) -> None:
    for name in ("DTSTART", "DTEND", "DURATION"):
        component.pop(name, None)
    component.add("DTSTART", start)
    component.add("DTEND", end)


def _length(component: Any) -> timedelta:
    start = component["DTSTART"].dt
    if component.get("DTEND") is not None:
        length: timedelta = component["DTEND"].dt - start
        return length
    if component.get("DURATION") is not None:
        given: timedelta = component["DURATION"].dt
        return given
    return timedelta(days=1) if not isinstance(start, datetime) else timedelta(0)


def _bump(component: Any, now: datetime) -> None:
    component.pop("DTSTAMP", None)
    component.add("DTSTAMP", _stamp(now))
    sequence = int(component.get("SEQUENCE", 0))
    component.pop("SEQUENCE", None)
    component.add("SEQUENCE", sequence + 1)


def moved(text: str, uid: str, start: datetime, occurrence: date | None, tz: ZoneInfo,
          now: datetime) -> str:
    """The event (or one occurrence of its series) starting at ``start``, same length."""
    cal: Any = icalendar.Calendar.from_ical(text)
    master = _master(cal, uid)
    if occurrence is None or not _is_series(master):
        length = _length(master)
        if not isinstance(master["DTSTART"].dt, datetime):  # all-day stays all-day
            _set_times(master, start.date(), start.date() + length)
        else:
            _set_times(master, start, start + length)
        _bump(master, now)
        return str(cal.to_ical().decode())
    found: Any = _occurrence(cal, occurrence, tz)
    recurrence_id = found["RECURRENCE-ID"].dt
    for component in list(cal.subcomponents):
        if (component.name == "VEVENT" and str(component.get("UID", "")) == uid
                and component.get("RECURRENCE-ID") is not None
                and component["RECURRENCE-ID"].dt == recurrence_id):
            cal.subcomponents.remove(component)
    override: Any = icalendar.Event()
    override.add("UID", uid)
    override.add("RECURRENCE-ID", recurrence_id)
    for name in ("SUMMARY", "LOCATION", "DESCRIPTION"):
        if found.get(name) is not None:
            override.add(name, found[name])
    length = _length(found)
    _set_times(override, start, start + length)
    _bump(override, now)
    cal.add_component(override)
    cal.add_missing_timezones()
    return str(cal.to_ical().decode())


def cancelled(text: str, uid: str, occurrence: date | None, tz: ZoneInfo,
              now: datetime) -> str | None:
    """The calendar object without that occurrence, or None: delete the whole event."""
    cal: Any = icalendar.Calendar.from_ical(text)
    master = _master(cal, uid)
    if occurrence is None or not _is_series(master):
        return None
    found: Any = _occurrence(cal, occurrence, tz)
    recurrence_id = found["RECURRENCE-ID"].dt
    for component in list(cal.subcomponents):
        if (component.name == "VEVENT" and component.get("RECURRENCE-ID") is not None
                and component["RECURRENCE-ID"].dt == recurrence_id):
            cal.subcomponents.remove(component)
    master.add("EXDATE", recurrence_id)
    _bump(master, now)
    return str(cal.to_ical().decode())
