"""Tools in the prompt: request bytes/tokens with and without the default tools, and the
prefix share of consecutive requests in a conversation that uses tools."""

from __future__ import annotations

import itertools
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import print_table
from core.tokens import estimate_tokens
from core.tools.catalog import registry
from core.tools.registry import schema_bytes
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM, running_fake_llm

TURNS = 24


def prefix_share(a: str, b: str) -> float:
    n = 0
    for x, y in zip(a, b, strict=False):
        if x != y:
            break
        n += 1
    return n / len(b) if b else 1.0


def wire_text(body: dict[str, Any]) -> str:
    """What the server tokenizes, in order: the tools (rendered first by Llama templates)
    then the messages."""
    return json.dumps(body.get("tools", []), separators=(",", ":")) + json.dumps(
        body["messages"], ensure_ascii=False, separators=(",", ":"))


async def conversation(tools: bool) -> tuple[list[dict[str, Any]], list[int]]:
    """The chat requests of one conversation, and their sizes on the wire (content-length)."""
    fake = FakeLLM(strict=True)
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            bot: dict[str, Any] = {} if tools else {"tools": ()}
            now = datetime(2026, 12, 1, 10, tzinfo=UTC)
            async with tool_core(Path(tmp) / "k.db", url, now=now, **bot) as core:
                for n in range(1, TURNS + 1):
                    if tools and n % 3 == 0:  # every third message uses a tool
                        fake.script_tool_call("list_add", {"list": "shopping",
                                                           "items": [f"thing {n}"]})
                    fake.script([f"Answer number {n}, with a few words of reply text."])
                    await core.send(message("b", n, f"message number {n} from the person"))
    sizes = [int(r.headers["content-length"]) for r in fake.requests
             if r.path.endswith("/chat/completions")]
    return fake.chat_requests, sizes


def first_of_each_message(requests: list[dict[str, Any]], sizes: list[int]) -> list[int]:
    """Sizes of the requests that open a message (not the tool-result steps after them)."""
    return [n for r, n in zip(requests, sizes, strict=True)
            if r["messages"][-1]["role"] == "user"]


def shares(requests: list[dict[str, Any]], skip: int = 0) -> list[float]:
    """Shared prefix of each request with the one before (characters of what is sent).

    ``skip``: leave out the requests of the first messages, whose prompts are so short that
    the changing tail is most of them.
    """
    texts = [wire_text(r) for r in requests if len(r["messages"]) > 2 * skip]
    return [prefix_share(a, b) for a, b in itertools.pairwise(texts)]


async def run() -> None:
    schemas = registry().schemas()
    size = schema_bytes(schemas)
    (with_tools, size_with), (without, size_without) = (await conversation(True),
                                                         await conversation(False))
    opened_with = first_of_each_message(with_tools, size_with)
    opened_without = first_of_each_message(without, size_without)
    extra = [a - b for a, b in zip(opened_with, opened_without, strict=True)]
    print_table("Default tools in every request (bytes = HTTP body on the wire)",
                ["", "bytes", "est. tokens"], [
        ["tools JSON (8 tools)", size, estimate_tokens(json.dumps(schemas))],
        ["first request with tools", size_with[0], estimate_tokens(wire_text(with_tools[0]))],
        ["first request without tools", size_without[0],
         estimate_tokens(wire_text(without[0]))],
        ["added per message, mean (tools + notices in history)", sum(extra) / len(extra), ""],
        ["added per message, max", max(extra), ""],
    ])
    rows = []
    for name, requests in (("with tools", with_tools), ("without tools", without)):
        every, later = shares(requests), shares(requests, skip=8)
        rows.append([name, len(requests), sum(every) / len(every), min(every),
                     sum(later) / len(later), min(later)])
    print_table(f"Prefix share of consecutive requests ({TURNS} messages, a tool every 3rd)",
                ["", "requests", "mean", "min", "mean from msg 8", "min from msg 8"], rows)
