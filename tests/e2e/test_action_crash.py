"""kill -9 at every point of a tool turn, 300 times: every requested reminder exists once,
and an external action reaches its server at most once per key.

Each round asks for one reminder in a fresh database; a child process (a real core: SQLite,
agent, dispatcher, tool loop, against the fake LLM over HTTP) kills itself with SIGKILL at
one point of the turn; a second start resumes the open message and finishes it. The
default configuration throughout (approvals "untrusted", a trusted direct message).

The external action (a test tool posting to a counting server on loopback, with the
action's idempotency key) is never repeated: killed before it started, the restart does it;
killed after it started, the restart does not send it again and tells the person to check.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from core.actions.model import ActionKey, State, idempotency_key
from core.schedule.model import Kind
from core.store.sqlite import SQLiteStore
from core.tools.acts import UNKNOWN
from tests.core.harness import message
from tests.e2e import crash_turn
from tests.fakes.llm import FakeLLM, running_fake_llm_sync

ROUNDS = 40  # per point: 5 points × 40 = 200 kills
WHEN = "2026-12-01T18:00:00+00:00"  # the harness clock is 2026-12-01 10:00 UTC


def _child(ctx: multiprocessing.context.BaseContext, db: Path, url: str, point: str,
           n: int, ping_url: str = "") -> int | None:
    proc = ctx.Process(target=crash_turn.run,  # type: ignore[attr-defined]
                       args=(str(db), url, point, n, ping_url))
    proc.start()
    proc.join(timeout=120)
    assert not proc.is_alive(), "the child hung"
    return proc.exitcode


async def _state(db: Path, n: int) -> tuple[list[str], list[State], int, str]:
    """The person's reminders, the action's state, the turns recorded, the answer sent."""
    store = SQLiteStore(db)
    await store.open()
    try:
        inbound = message("a", n)
        person = await store.person_for("test", inbound.sender)
        texts = [s.text for s in await store.schedule.for_person(person, Kind.REMINDER)]
        action = await store.actions.get(ActionKey(inbound.id, 0))
        turns = await store.history(inbound.conversation, 0, 100)
        delivery = await store.delivery(inbound.id)
        answer = delivery.reply or "" if delivery else ""
        return texts, [action.state] if action else [], len(turns), answer
    finally:
        await store.close()


@pytest.mark.timeout(900)  # dozens of spawned children: generous under load
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
            texts, states, turns, _ = asyncio.run(_state(db, n))
            assert texts == [f"stretch ({n})"], f"round {n} after a kill at {point}: {texts}"
            assert states == [State.DONE]
            assert turns == 2  # the message and its reply, once
    assert kills == ROUNDS


@contextmanager
def counting_server() -> Iterator[tuple[str, list[tuple[str, str]]]]:
    """A loopback HTTP server that records (Idempotency-Key, body) of every POST."""
    seen: list[tuple[str, str]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("content-length") or 0))
            seen.append((self.headers.get("idempotency-key") or "", body.decode()))
            self.send_response(200)
            self.send_header("content-length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/ping", seen
    finally:
        server.shutdown()
        server.server_close()


EXTERNAL_ROUNDS = 20  # per point: 5 points × 20 = 100 kills
SENT_ONCE = {"before_row": (1, State.DONE), "after_row": (1, State.DONE),
             "after_start": (0, State.FAILED), "after_effect": (1, State.FAILED),
             "before_commit": (1, State.DONE)}


@pytest.mark.timeout(900)  # dozens of spawned children: generous under load
@pytest.mark.parametrize("point", crash_turn.EXTERNAL_POINTS)
def test_kill_9_at_every_point_of_an_external_action_sends_at_most_once(
    tmp_path: Path, point: str
) -> None:
    ctx = multiprocessing.get_context("forkserver")
    ctx.set_forkserver_preload(["tests.e2e.crash_turn"])
    fake = FakeLLM(strict=True)
    sent, state = SENT_ONCE[point]
    with running_fake_llm_sync(fake) as url, counting_server() as (ping_url, seen):
        for n in range(EXTERNAL_ROUNDS):
            db = tmp_path / f"{point}-{n}.db"
            for attempt, at in enumerate((point, "none")):
                fake.reset()
                fake.script_tool_call("send_ping", {"note": f"n{n}"})
                fake.script(["Done."])
                code = _child(ctx, db, url, at, n, ping_url)
                assert code == (-9 if attempt == 0 else 0), f"round {n}, run {attempt}: {code}"
            _, states, turns, answer = asyncio.run(_state(db, n))
            key = idempotency_key(ActionKey(message("a", n).id, 0))
            mine = [body for k, body in seen if k == key]
            assert [json.loads(b)["note"] for b in mine] == [f"n{n}"] * sent, (n, mine)
            assert states == [state] and turns == 2
            told = UNKNOWN.split(":", 1)[0]  # "I was interrupted … whether it happened"
            assert (told in answer) is (state is State.FAILED), answer
    assert len(seen) == sent * EXTERNAL_ROUNDS
