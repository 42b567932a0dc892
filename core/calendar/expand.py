"""iCalendar text → the events in a window, in the person's zone (pure).

Parsing is icalendar's and expansion (RRULE, RDATE, EXDATE, overridden occurrences with
their own zones) is recurring-ical-events'; this module only maps their components to
:class:`Event`. Floating times (no zone) are the person's wall clock; all-day events are
dates, placed at midnight in the person's zone.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
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


MARGIN = timedelta(days=1)  # floating times and dates are placed in some zone: ±14 h


def _utc(value: date | datetime) -> datetime:
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    return datetime.combine(value, time(), UTC)


def _span(parsed: Any) -> tuple[datetime | None, datetime | None]:
    """The earliest start and latest end of a resource's events (UTC, with a margin for
    floating times); an open-ended series (COUNT, RDATE, no UNTIL) has no end."""
    first: datetime | None = None
    last: datetime | None = None
    open_ended = False
    for component in parsed.walk("VEVENT"):
        start_prop = component.get("DTSTART")
        if start_prop is None:
            continue
        start = _utc(start_prop.dt)
        end = start + timedelta(days=1)
        if component.get("DTEND") is not None:
            end = max(end, _utc(component["DTEND"].dt))
        elif component.get("DURATION") is not None:
            end = max(end, start + component["DURATION"].dt)
        rule = component.get("RRULE")
        if component.get("RDATE") is not None:
            open_ended = True
        elif rule is not None:
            until = rule.get("UNTIL")
            if not until:
                open_ended = True
            else:
                end = _utc(until[0]) + (end - start)
        first = start if first is None else min(first, start)
        last = end if last is None else max(last, end)
    if first is None:
        return None, None
    return first - MARGIN, None if open_ended or last is None else last + MARGIN


@dataclass(frozen=True, slots=True)
class Resource:
    """One calendar object, parsed once, with the span its events can fall in."""

    parsed: Any
    series: frozenset[str]
    first: datetime | None
    last: datetime | None  # None: open-ended
    uids: frozenset[str] = frozenset()

    @classmethod
    def parse(cls, text: str) -> Resource | None:
        """None when the text does not parse (logged): a third party's data."""
        try:
            parsed = icalendar.Calendar.from_ical(text)
            first, last = _span(parsed)
        except Exception as err:
            log.warning("calendar_object_unreadable", error=type(err).__name__)
            return None
        uids = frozenset(str(c.get("UID", "")) for c in parsed.walk("VEVENT"))
        return cls(parsed, frozenset(_series(parsed)), first, last, uids)

    def may_overlap(self, window: Window) -> bool:
        if self.first is None:
            return False
        return self.first < window.end and (self.last is None or self.last > window.start)

    def events(self, window: Window, tz: ZoneInfo, calendar: str = "") -> list[Event]:
        if not self.may_overlap(window):
            return []
        found = []
        try:
            for component in recurring_ical_events.of(self.parsed).between(window.start,
                                                                           window.end):
                event = _event(component, tz, calendar, set(self.series))
                if event is not None:
                    found.append(event)
        except Exception as err:  # one bad resource never hides the rest of the agenda
            log.warning("calendar_object_unreadable", error=type(err).__name__)
            return []
        return found


def in_window(resources: Iterable[Resource], window: Window, tz: ZoneInfo,
              calendar: str = "") -> list[Event]:
    """Every event of ``resources`` that overlaps ``window``, in ``tz``."""
    found = [e for r in resources for e in r.events(window, tz, calendar)]
    found.sort(key=lambda e: (e.start, not e.all_day, e.title))
    return found


def expand(texts: Iterable[str], window: Window, tz: ZoneInfo,
           calendar: str = "") -> list[Event]:
    """Every event of ``texts`` (one VCALENDAR each) that overlaps ``window``, sorted.

    A resource that does not parse is skipped (and logged): one bad event never hides
    the rest of the agenda."""
    parsed = (Resource.parse(text) for text in texts)
    return in_window((r for r in parsed if r is not None), window, tz, calendar)
