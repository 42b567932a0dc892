"""A child process that has a week planned on a real core (Radicale behind it), then says
yes and SIGKILLs itself at a point of the approved batch: ``after_decide`` (approved,
nothing begun), ``after_start`` (marked started, nothing sent), ``after_block`` (Radicale
holds ``n % 3 + 1`` of the blocks), ``before_commit``; ``none`` resumes and runs to the end."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from adapters.caldav.client import CaldavCalendar
from core.tools.catalog import CALENDAR, DEFAULT
from tests.calendar.crash_calendar import Owner
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.e2e.crash_turn import _die, _external_points

POINTS = ("after_decide", "after_start", "after_block", "before_commit")
NOW = datetime(2027, 3, 29, 8, tzinfo=ZoneInfo("Europe/Lisbon"))


def _arm(core: Any, calendar: CaldavCalendar, point: str, n: int) -> None:
    if point == "after_decide":
        save = core.store.actions.save

        async def saved(action: Any, was: Any, was_started: bool) -> bool:
            ok = bool(await save(action, was, was_started))
            if ok and action.state.value == "approved" and not action.started:
                _die()
            return ok

        core.store.actions.save = saved
    elif point == "after_block":
        create, made = calendar.create, [0]

        async def created(*args: Any, **kwargs: Any) -> None:
            await create(*args, **kwargs)
            made[0] += 1
            if made[0] == n % 3 + 1:
                _die()  # Radicale has some of the blocks; Kith has not recorded them

        calendar.create = created  # type: ignore[method-assign]
    elif point != "none":
        _external_points(core.store, point)


async def _main(db: Path, llm: str, dav: str, user: str, password: str, point: str,
                n: int) -> None:
    calendar = CaldavCalendar(dav, user, password)
    async with tool_core(db, llm, now=NOW, tools=(*DEFAULT, *CALENDAR),
                         calendars=Owner(calendar)) as core:
        await core.dispatcher.resume()
        await core.dispatcher.submit(message("a", 1, f"plan my week ({n})"))
        await core.dispatcher.join()
        _arm(core, calendar, point, n)
        await core.dispatcher.submit(message("a", 2, "yes"))
        await core.dispatcher.join()
    await calendar.close()


def run(db: str, llm: str, dav: str, user: str, password: str, point: str, n: int) -> None:
    asyncio.run(_main(Path(db), llm, dav, user, password, point, n))
