"""kill -9 at every point of a tool turn, 200 times: every requested reminder exists once.

Each round asks for one reminder in a fresh database; a child process (a real core: SQLite,
agent, dispatcher, tool loop, against the fake LLM over HTTP) kills itself with SIGKILL at
one point of the turn; a second start resumes the open message and finishes it. The
default configuration throughout (approvals "untrusted", a trusted direct message).
"""

from __future__ import annotations

import asyncio
import multiprocessing
from pathlib import Path

import pytest

from core.actions.model import ActionKey, State
from core.schedule.model import Kind
from core.store.sqlite import SQLiteStore
from tests.core.harness import message
from tests.e2e import crash_turn
from tests.fakes.llm import FakeLLM, running_fake_llm_sync

ROUNDS = 40  # per point: 5 points × 40 = 200 kills
WHEN = "2026-12-01T18:00:00+00:00"  # the harness clock is 2026-12-01 10:00 UTC


def _child(ctx: multiprocessing.context.BaseContext, db: Path, url: str, point: str,
           n: int) -> int | None:
    proc = ctx.Process(target=crash_turn.run, args=(str(db), url, point, n))  # type: ignore[attr-defined]
    proc.start()
    proc.join(timeout=120)
    assert not proc.is_alive(), "the child hung"
    return proc.exitcode


async def _state(db: Path, n: int) -> tuple[list[str], list[State], int]:
    store = SQLiteStore(db)
    await store.open()
    try:
        inbound = message("a", n)
        person = await store.person_for("test", inbound.sender)
        texts = [s.text for s in await store.schedule.for_person(person, Kind.REMINDER)]
        action = await store.actions.get(ActionKey(inbound.id, 0))
        turns = await store.history(inbound.conversation, 0, 100)
        return texts, [action.state] if action else [], len(turns)
    finally:
        await store.close()


@pytest.mark.parametrize("point", crash_turn.POINTS)
def test_kill_9_at_every_point_of_a_tool_turn_leaves_one_reminder(
    tmp_path: Path, point: str
) -> None:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.e2e.crash_turn"])
    fake = FakeLLM(strict=True)
    kills = 0
    with running_fake_llm_sync(fake) as url:
        for n in range(ROUNDS):
            db = tmp_path / f"{point}-{n}.db"
            for attempt, at in enumerate((point, "none")):
                fake.reset()  # a killed run may leave its script half used
                fake.script_tool_call("create_reminder",
                                      {"text": f"stretch ({n})", "when": WHEN})
                fake.script(["Sure, I'll remind you."])
                code = _child(ctx, db, url, at, n)
                if attempt == 0:
                    assert code == -9, f"round {n}: the child was not killed at {point}"
                    kills += 1
                else:
                    assert code == 0, f"round {n}: the restart failed ({code})"
            texts, states, turns = asyncio.run(_state(db, n))
            assert texts == [f"stretch ({n})"], f"round {n} after a kill at {point}: {texts}"
            assert states == [State.DONE]
            assert turns == 2  # the message and its reply, once
    assert kills == ROUNDS
