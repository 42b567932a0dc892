"""A calendar for one turn: the server is checked once, at the turn's first read.

However many tools of a turn read the calendar (an agenda, then free time, then a plan),
only the first sends its round of CalDAV requests; the others read what it brought.
Kith's own writes update the cache underneath, so they show in later reads of the turn.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.calendar.model import Calendar, Event, NewEvent, Window


class OneRound:
    """:class:`core.calendar.model.Calendar` over another, checking it at most once."""

    def __init__(self, calendar: Calendar) -> None:
        self._calendar = calendar
        self._checked = False

    async def events(self, window: Window, tz: ZoneInfo, *, refresh: bool = True
                     ) -> list[Event]:
        found = await self._calendar.events(window, tz, refresh=refresh and not self._checked)
        self._checked = True
        return found

    async def create(self, event: NewEvent, uid: str, tz: ZoneInfo) -> None:
        await self._calendar.create(event, uid, tz)

    async def move(self, uid: str, start: datetime, occurrence: datetime | None,
                   tz: ZoneInfo) -> None:
        await self._calendar.move(uid, start, occurrence, tz)

    async def cancel(self, uid: str, occurrence: datetime | None, tz: ZoneInfo) -> str:
        return await self._calendar.cancel(uid, occurrence, tz)


def for_turn(calendar: Calendar | None) -> Calendar | None:
    return OneRound(calendar) if calendar is not None else None
