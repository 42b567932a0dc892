"""A calendar seen from a group: only when its owner is busy (pure wrapper).

In a group Kith answers the person who asked with their own free/busy, never with what
their events are: each timed event becomes an anonymous block (overlapping and touching
ones merged, so not even their number shows), all-day events are left out (a birthday is
marked, not spent), and nothing can be changed from there.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.calendar.model import CalendarError, CalendarReader, Event, NewEvent, Window

BUSY = "busy"
IN_GROUP = ("In a group I only say when you're busy; to see or change your events, write "
            "to me in our private chat.")


def blocks(events: list[Event]) -> list[Event]:
    """Timed events as merged anonymous busy blocks, in order (pure)."""
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted((e.start, e.end) for e in events if not e.all_day):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return [Event(uid="", title=BUSY, start=s, end=e) for s, e in merged]


class BusyOnly:
    """:class:`core.calendar.model.Calendar` over another, showing only busy blocks."""

    def __init__(self, calendar: CalendarReader) -> None:
        self._calendar = calendar

    async def events(self, window: Window, tz: ZoneInfo, *, refresh: bool = True
                     ) -> list[Event]:
        return blocks(await self._calendar.events(window, tz, refresh=refresh))

    async def create(self, event: NewEvent, uid: str, tz: ZoneInfo) -> None:
        raise CalendarError(IN_GROUP)

    async def move(self, uid: str, start: datetime, occurrence: datetime | None,
                   tz: ZoneInfo) -> None:
        raise CalendarError(IN_GROUP)

    async def cancel(self, uid: str, occurrence: datetime | None, tz: ZoneInfo) -> str:
        raise CalendarError(IN_GROUP)
