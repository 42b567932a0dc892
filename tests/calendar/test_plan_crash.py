"""kill -9 at every point of an approved week plan, 32 times: each block exists exactly once
in Radicale. The blocks' UIDs are the action's key plus their place in the plan, each PUT
with If-None-Match: *, and the resumed turn of the yes finishes the approved batch."""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import icalendar
import pytest

from core.actions.model import ActionKey, State
from core.store.sqlite import SQLiteStore
from tests.calendar import crash_plan
from tests.calendar.radicale import Radicale
from tests.core.harness import message
from tests.fakes.llm import FakeLLM, running_fake_llm_sync

ROUNDS = 8  # per point: 4 points × 8 = 32 kills
WISHES = [{"what": "Write report", "duration_minutes": 120, "preferred": "morning"},
          {"what": "Gym", "duration_minutes": 60, "preferred": "evening", "times": 2}]


async def _action_state(db: Path) -> State | None:
    store = SQLiteStore(db)
    await store.open()
    try:
        action = await store.actions.get(ActionKey(message("a", 1).id, 0))
        return action.state if action else None
    finally:
        await store.close()


@pytest.mark.timeout(1200)  # two child processes per round, on a loaded machine
@pytest.mark.parametrize("point", crash_plan.POINTS)
def test_kill_9_in_an_approved_plan_leaves_each_block_once(
        tmp_path: Path, radicale: Radicale, point: str) -> None:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.calendar.crash_plan"])
    fake = FakeLLM(strict=True)
    with running_fake_llm_sync(fake) as llm:
        for n in range(ROUNDS):
            user, password = radicale.user()  # a calendar of its own per round
            calendar = radicale.calendar(user, password)
            db = tmp_path / f"{point}-{n}.db"
            for attempt, at in enumerate((point, "none")):
                fake.reset()
                if attempt == 0:  # the restart finds the plan proposed and approved
                    fake.script_tool_call("plan_week", {"wishes": WISHES})
                    fake.script(["Here is a plan."])
                elif point == "before_commit":
                    # the batch was done before the kill: the resumed yes finds nothing
                    # waiting and goes to the model like any other message
                    fake.script(["Yes?"])
                proc = ctx.Process(target=crash_plan.run,  # type: ignore[attr-defined]
                                   args=(str(db), llm, radicale.url, user, password, at, n))
                proc.start()
                proc.join(timeout=180)
                assert not proc.is_alive(), "the child hung"
                assert proc.exitcode == (-9 if attempt == 0 else 0), (n, attempt, at)
            assert asyncio.run(_action_state(db)) is State.DONE, n
            events = [next(iter(icalendar.Calendar.from_ical(e.data).walk("VEVENT")))
                      for e in calendar.events()]
            assert sorted(str(e["SUMMARY"]) for e in events) == ["Gym", "Gym",
                                                                  "Write report"], n
            assert len({str(e["UID"]) for e in events}) == 3
