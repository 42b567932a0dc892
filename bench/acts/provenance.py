"""What provenance and tool history cost: model calls and prompt bytes per message, whether
each prompt's stable prefix is byte-identical to the one before, and the store statements a
tool call adds to its turn (SQLite, counted with the connection's trace callback).

One conversation through the real core (SQLite, agent, dispatcher) against a fake LLM on
loopback: every third message uses a tool; message 10 carries a forwarded text.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import print_table
from core.events import Origin, Quoted
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM, running_fake_llm

TURNS = 24
FORWARD_AT = 10


async def conversation() -> tuple[list[dict[str, Any]], list[int], list[int], list[bool]]:
    """The chat requests, their sizes, the store statements of each message, and which
    messages used a tool."""
    fake = FakeLLM(strict=True)
    statements: list[int] = []
    used: list[bool] = []
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            now = datetime(2026, 12, 1, 10, tzinfo=UTC)
            async with tool_core(Path(tmp) / "k.db", url, now=now) as core:
                count = [0]
                core.store.db.set_trace_callback(lambda _sql: count.__setitem__(0, count[0] + 1))
                for n in range(1, TURNS + 1):
                    tool = n % 3 == 0
                    if tool:
                        fake.script_tool_call("list_show", {"list": "shopping"})
                    fake.script([f"Answer number {n}, with a few words of reply text."])
                    inbound = message("p", n, f"message number {n} from the person")
                    if n == FORWARD_AT:
                        inbound = replace(inbound, quoted=(Quoted(
                            origin=Origin.FORWARDED_MESSAGE, text="A forwarded note.",
                            author="Someone"),))
                    count[0] = 0
                    await core.send(inbound)
                    statements.append(count[0])
                    used.append(tool)
                core.store.db.set_trace_callback(None)
    sizes = [int(r.headers["content-length"]) for r in fake.requests
             if r.path.endswith("/chat/completions")]
    return fake.chat_requests, sizes, statements, used


def stable(body: dict[str, Any]) -> str:
    return json.dumps(body["messages"][:-1], ensure_ascii=False)


async def run() -> None:
    requests, sizes, statements, used = await conversation()
    opening = [(r, s) for r, s in zip(requests, sizes, strict=True)
               if r["messages"][-1]["role"] == "user"]
    calls: list[int] = []  # model calls of each message
    for r in requests:
        if r["messages"][-1]["role"] == "user":
            calls.append(0)
        calls[-1] += 1
    calls_plain = [c for c, u in zip(calls, used, strict=True) if not u]
    calls_tool = [c for c, u in zip(calls, used, strict=True) if u]
    identical = sum(stable(b[0]).startswith(stable(a[0])[:-1])
                    for a, b in itertools.pairwise(opening))
    plain = [s for s, u in zip(statements, used, strict=True) if not u]
    tooled = [s for s, u in zip(statements, used, strict=True) if u]
    print_table(f"Provenance and tool history ({TURNS} messages, a tool every 3rd, a forward at "
                f"{FORWARD_AT})", ["", "value"], [
        ["model calls per message without a tool, mean", sum(calls_plain) / len(calls_plain)],
        ["model calls per message with one tool call, mean", sum(calls_tool) / len(calls_tool)],
        ["model calls, total", len(requests)],
        ["opening request bytes, first / last", f"{opening[0][1]} / {opening[-1][1]}"],
        ["opening request bytes, mean", round(sum(s for _, s in opening) / len(opening))],
        ["stable prefix byte-identical to the previous message's",
         f"{identical} of {len(opening) - 1}"],
        ["store statements per message without a tool, mean",
         round(sum(plain) / len(plain), 2)],
        ["store statements per message with one tool call, mean",
         round(sum(tooled) / len(tooled), 2)],
        ["store statements a tool call adds (difference)",
         round(sum(tooled) / len(tooled) - sum(plain) / len(plain), 2)],
    ])
