"""What Kith knows of a calendar: events in a window, already expanded."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from core.calendar.links import Asking
from core.events import Inbound
from core.ids import PersonId


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


@dataclass(frozen=True, slots=True)
class NewEvent:
    """An event to create: aware times; an all-day event runs midnight to midnight in the
    person's zone (``end`` exclusive)."""

    title: str
    start: datetime
    end: datetime
    all_day: bool = False
    location: str = ""
    notes: str = ""


class CalendarReader(Protocol):
    """One person's calendars, read."""

    async def events(self, window: Window, tz: ZoneInfo, *, refresh: bool = True
                     ) -> list[Event]:
        """The events of ``window`` in ``tz``; ``refresh=False``: as last read (a turn that
        checked the server already), without a request when something was read before."""
        ...


class CalendarWriter(Protocol):
    """One person's calendar, changed. Every call is idempotent: run again after a crash
    with the same arguments, it changes nothing more (the UID of a new event is the action's
    key and is created only where none exists)."""

    async def create(self, event: NewEvent, uid: str, tz: ZoneInfo) -> None: ...

    async def move(self, uid: str, start: datetime, occurrence: datetime | None,
                   tz: ZoneInfo) -> None: ...

    async def cancel(self, uid: str, occurrence: datetime | None, tz: ZoneInfo) -> str: ...


class Calendar(CalendarReader, CalendarWriter, Protocol):
    """Read and changed: what the calendar tools get."""


class Linker(Protocol):
    """People linking their own calendars (``/calendar connect``, the password message,
    ``/calendar status`` and ``/calendar disconnect``): each answer is one reply."""

    async def connect(self, inbound: Inbound, person_id: PersonId, args: str) -> str: ...

    async def answer(self, inbound: Inbound, person_id: PersonId, asking: Asking | None
                     ) -> str | None:
        """The reply when ``inbound`` is the awaited password (consumed: it never reaches
        the model), else None. ``asking``: the person's asking, as read with them at the
        turn's start (the Store's ``identify``)."""
        ...

    async def status(self, inbound: Inbound, person_id: PersonId) -> str: ...

    async def disconnect(self, inbound: Inbound, person_id: PersonId) -> str: ...


class Calendars(Protocol):
    """Whose calendar a turn may use: the person's own (the owner's from bot.toml, anyone's
    linked one), and in a group only as free/busy; None when none may be used."""

    def reader(self, bot: str, person_id: PersonId, *, owner: bool, group: bool
               ) -> Calendar | None: ...

    @property
    def linker(self) -> Linker | None: ...
