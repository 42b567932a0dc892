"""iCalendar text → the events in a window, in the person's zone (pure).

Parsing is icalendar's and expansion (RRULE, RDATE, EXDATE, overridden occurrences with
their own zones) is recurring-ical-events'; this module only maps their components to
:class:`Event`. Floating times (no zone) are the person's wall clock; all-day events are
dates, placed at midnight in the person's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events

from core.calendar.model import Event, Window
from core.logging import get_logger

log = get_logger("kith.calendar")


def _moment(value: date | datetime, tz: ZoneInfo) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=tz) if value.tzinfo is None else value.astimezone(tz)
    return datetime.combine(value, time(), tz)


def _series(parsed: Any) -> set[str]:
    """UIDs of the recurring events in one parsed VCALENDAR (expansion drops the RRULE)."""
    return {str(c.get("UID", "")) for c in parsed.walk("VEVENT")
            if c.get("RRULE") or c.get("RDATE") or c.get("RECURRENCE-ID")}


def _event(component: Any, tz: ZoneInfo, calendar: str, series: set[str]) -> Event | None:
    start_prop = component.get("DTSTART")
    if start_prop is None:
        return None
    start_value = start_prop.dt
    all_day = not isinstance(start_value, datetime)
    end_prop = component.get("DTEND")
    if end_prop is not None:
        end_value = end_prop.dt
    elif component.get("DURATION") is not None:
        end_value = start_value + component["DURATION"].dt
    else:  # RFC 5545: a date lasts one day, a date-time no time at all
        end_value = start_value + timedelta(days=1) if all_day else start_value
    uid = str(component.get("UID", ""))
    return Event(
        uid=uid,
        title=str(component.get("SUMMARY", "")).strip() or "(no title)",
        start=_moment(start_value, tz),
        end=_moment(end_value, tz),
        all_day=all_day,
        location=str(component.get("LOCATION", "")).strip(),
        recurring=uid in series,
        calendar=calendar,
    )


def expand(texts: Iterable[str], window: Window, tz: ZoneInfo,
           calendar: str = "") -> list[Event]:
    """Every event of ``texts`` (one VCALENDAR each) that overlaps ``window``, sorted.

    A resource that does not parse is skipped (and logged): one bad event never hides
    the rest of the agenda."""
    found: list[Event] = []
    for text in texts:
        try:
            parsed = icalendar.Calendar.from_ical(text)
            series = _series(parsed)
            components = recurring_ical_events.of(parsed).between(window.start, window.end)
            for component in components:
                event = _event(component, tz, calendar, series)
                if event is not None:
                    found.append(event)
        except Exception as err:  # a third party's data: any failure is this one resource's
            log.warning("calendar_object_unreadable", error=type(err).__name__)
    found.sort(key=lambda e: (e.start, not e.all_day, e.title))
    return found
