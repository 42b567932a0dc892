"""Store statements per side-effect tool call: the handler alone (as the tool loop ran it
before durable actions) and through its action record (core.actions), on SQLite.

Counted with SQLite's trace callback on the store's connection: every statement the turn
runs, BEGIN and COMMIT included. A tool call's cost is a tool turn's statements minus a
plain turn's (same core, same conversation length).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import print_table
from core.tools.base import Tool, ToolContext, ToolResult
from core.tools.loop import ToolLoop
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM, running_fake_llm

TURNS = 20


class Direct:
    """The tool loop's call site as it was: the handler, no record."""

    async def run(self, tool: Tool, ctx: ToolContext, args: Any, *, taint: Any) -> ToolResult:
        return await tool.handler(ctx, args)


@contextmanager
def direct_calls() -> Iterator[None]:
    init = ToolLoop.__init__

    def patched(self: ToolLoop, *args: Any, **kwargs: Any) -> None:
        init(self, *args, **kwargs)
        self.acts = Direct()  # type: ignore[assignment]

    ToolLoop.__init__ = patched  # type: ignore[method-assign]
    try:
        yield
    finally:
        ToolLoop.__init__ = init  # type: ignore[method-assign]


async def statements(tool: str | None) -> float:
    """Mean statements per turn over ``TURNS`` turns, each calling ``tool`` once (or none)."""
    fake = FakeLLM(strict=True)
    counted: list[str] = []
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            now = datetime(2026, 12, 1, 10, tzinfo=UTC)
            async with tool_core(Path(tmp) / "k.db", url, now=now) as core:
                for n in range(1, TURNS + 1):
                    if tool == "create_reminder":
                        fake.script_tool_call(tool, {"text": f"thing {n}",
                                                     "when": "2026-12-02T10:00:00+00:00"})
                    elif tool == "list_add":
                        fake.script_tool_call(tool, {"list": "shopping",
                                                     "items": [f"thing {n}"]})
                    fake.script([f"Answer {n}."])
                    core.store.db.set_trace_callback(counted.append)
                    await core.send(message("b", n, f"message {n}"))
                    core.store.db.set_trace_callback(None)
                    await core.agent.wait_background()
    return len(counted) / TURNS


async def run() -> None:
    rows = []
    for tool in ("create_reminder", "list_add"):
        with direct_calls():
            plain_before, before = await statements(None), await statements(tool)
        plain, after = await statements(None), await statements(tool)
        rows.append([tool, before - plain_before, after - plain, plain])
    print_table(f"SQLite statements per side-effect tool call (mean of {TURNS} turns)",
                ["tool", "before (handler alone)", "after (action record)",
                 "plain turn"], rows)
