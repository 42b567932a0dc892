"""A child process that asks for one calendar event on a real core (Radicale behind it) and
SIGKILLs itself at a point of the action: ``before_row``, ``after_row``, ``after_start``
(the action is marked started, nothing sent), ``after_effect`` (Radicale stored the event,
Kith has not recorded it), ``before_commit``; ``none`` runs to the end (the restart)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from adapters.caldav.client import CaldavCalendar
from core.calendar.model import Calendar
from core.tools.catalog import CALENDAR, DEFAULT
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.e2e.crash_turn import _die, _external_points

POINTS = ("before_row", "after_row", "after_start", "after_effect", "before_commit")
NOW = datetime(2027, 3, 29, 8, tzinfo=ZoneInfo("Europe/Lisbon"))


class Owner:
    def __init__(self, calendar: Calendar) -> None:
        self.calendar = calendar

    linker = None  # nobody links a calendar of their own here

    def reader(self, bot: str, person_id: str, *, owner: bool, group: bool
               ) -> Calendar | None:
        return self.calendar if owner and not group else None


async def _main(db: Path, llm: str, dav: str, user: str, password: str, point: str,
                n: int) -> None:
    calendar = CaldavCalendar(dav, user, password)
    if point == "after_effect":
        create = calendar.create

        async def created(*args: Any, **kwargs: Any) -> None:
            await create(*args, **kwargs)
            _die()  # Radicale has the event; Kith has not recorded that

        calendar.create = created  # type: ignore[method-assign]
    async with tool_core(db, llm, now=NOW, tools=(*DEFAULT, *CALENDAR),
                         calendars=Owner(calendar)) as core:
        if point != "after_effect":
            _external_points(core.store, point)
        await core.dispatcher.resume()
        await core.dispatcher.submit(message("a", n, f"book the dentist ({n})"))
        await core.dispatcher.join()


def run(db: str, llm: str, dav: str, user: str, password: str, point: str, n: int) -> None:
    asyncio.run(_main(Path(db), llm, dav, user, password, point, n))
