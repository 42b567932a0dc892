"""What Kith knows of a calendar: events in a window, already expanded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo


class CalendarError(Exception):
    """The calendar could not be read; the message is one line for the person."""


@dataclass(frozen=True, slots=True)
class Window:
    """[start, end): both aware."""

    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Event:
    """One event, or one occurrence of a series. All-day events start and end at midnight
    in the person's zone (``end`` exclusive, as in iCalendar)."""

    uid: str
    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    location: str = ""
    recurring: bool = False  # an occurrence of a series
    calendar: str = ""


class CalendarReader(Protocol):
    """One person's calendars, read."""

    async def events(self, window: Window, tz: ZoneInfo) -> list[Event]: ...


class Calendars(Protocol):
    """Whose calendar a turn may read: None when that person has none Kith may use."""

    def reader(self, bot: str, owner: bool) -> CalendarReader | None: ...
