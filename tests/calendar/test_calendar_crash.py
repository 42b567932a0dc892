"""kill -9 at every point of an approved create_event, 100 times: each event exists exactly
once in Radicale. The event's UID is the action's key and its PUT says If-None-Match: *,
so a run interrupted after it began runs again safely (the calendar is the one that can be
asked) instead of leaving the person to check."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import icalendar
import pytest

from core.actions.model import ActionKey, State
from core.store.sqlite import SQLiteStore
from tests.calendar import crash_calendar
from tests.calendar.radicale import Radicale
from tests.core.harness import message
from tests.fakes.llm import FakeLLM, running_fake_llm_sync

ROUNDS = 20  # per point: 5 points × 20 = 100 kills


async def _state(db: Path, n: int) -> tuple[State | None, int]:
    store = SQLiteStore(db)
    await store.open()
    try:
        inbound = message("a", n)
        action = await store.actions.get(ActionKey(inbound.id, 0))
        turns = await store.history(inbound.conversation, 0, 100)
        return (action.state if action else None), len(turns)
    finally:
        await store.close()


@pytest.mark.timeout(900)  # dozens of spawned children: generous under load
@pytest.mark.parametrize("point", crash_calendar.POINTS)
def test_kill_9_around_create_event_leaves_each_event_once(
        tmp_path: Path, radicale: Radicale, point: str) -> None:
    user, password = radicale.user()
    calendar = radicale.calendar(user, password)
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.calendar.crash_calendar"])
    fake = FakeLLM(strict=True)
    with running_fake_llm_sync(fake) as llm:
        for n in range(ROUNDS):
            db = tmp_path / f"{point}-{n}.db"
            for attempt, at in enumerate((point, "none")):
                fake.reset()
                fake.script_tool_call("create_event", {
                    "title": f"Dentist {n}", "date": "2027-03-30", "time": "15:00"})
                fake.script(["Booked."])
                proc = ctx.Process(target=crash_calendar.run,  # type: ignore[attr-defined]
                                   args=(str(db), llm, radicale.url, user, password, at, n))
                proc.start()
                proc.join(timeout=120)
                assert not proc.is_alive(), "the child hung"
                assert proc.exitcode == (-9 if attempt == 0 else 0), (n, attempt, at)
            state, turns = asyncio.run(_state(db, n))
            assert state is State.DONE and turns == 2, (n, state, turns)
    titles = [str(next(iter(icalendar.Calendar.from_ical(e.data).walk("VEVENT")))["SUMMARY"])
              for e in calendar.events()]
    assert sorted(titles) == sorted(f"Dentist {n}" for n in range(ROUNDS))
