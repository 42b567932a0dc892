"""Reach (issue 26): tool JSON per request with 0 / 10 / 50 MCP tools, the prefix share of
consecutive prompts when tools are selected, the selection's hit rate on the labelled set,
and the latency an MCP call adds over stdio and over streamable HTTP (the SDK-built test
server of tests/fakes/mcp_server.py)."""

from __future__ import annotations

import asyncio
import itertools
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import mcp_types as types

from adapters.mcp.server import Connection
from bench.acts.tools import prefix_share, wire_text
from bench.common import percentile, print_table
from core.tools.catalog import Toolbox
from core.tools.registry import schema_bytes
from core.tools.selection import BUDGET, Selector
from tests.adapters.mcp.servers import http_server, stdio_config
from tests.core.harness import message
from tests.core.tools import toolset
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM, running_fake_llm

_SAMPLE = {"string": "x", "number": 1, "boolean": True, "array": []}


def _args(schema: dict[str, Any]) -> dict[str, Any]:
    """Arguments that satisfy ``schema``'s required properties."""
    props = schema.get("properties", {})
    return {k: _SAMPLE[props[k].get("type", "string")] for k in schema.get("required", [])}


async def _answer(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    return types.CallToolResult(content=[types.TextContent(type="text", text="ok")])


def tool_bytes() -> None:
    rows = []
    for mcp in (0, 10, 50):
        every = toolset.registry(mcp)
        hits, total, _misses, sizes = toolset.run_labelled(Selector(), every)
        rows.append([mcp, len(every.tools), schema_bytes(every.schemas()),
                     statistics.mean(sizes), max(sizes), f"{hits}/{total}",
                     hits / total])
    print_table(f"Tool JSON per request (labelled set, {total} requests; budget {BUDGET} B; "
                "built-in + web + MCP tools)",
                ["MCP tools", "tools", "all tools, bytes", "offered mean", "offered max",
                 "needed tool offered", "hit rate"], rows)


async def prefix(mcp: int = 50) -> None:
    rows = [["selected (≤ 2.5 KB)", *await _prefix(mcp, BUDGET)],
            ["all tools offered", *await _prefix(mcp, 10**9)]]
    print_table(f"Prefix share of consecutive prompts ({mcp} MCP tools; the labelled "
                "conversations, which change topic almost every message and call MCP tools "
                "whose results withhold side-effect tools while in the window; each "
                "message's first request)",
                ["tools", "pairs", "mean", "min", "p10", "mean from 4th msg", "tool JSON max",
                 "chars past the prefix, mean"],
                rows)


async def _prefix(mcp: int, budget: int) -> list[float]:
    """The labelled conversations through a real core: each message's first request is
    compared with the previous message's (characters of tools JSON + messages)."""
    toolbox = Toolbox({"kith": None})
    builtin = set(toolbox["kith"].tools)
    toolbox.set("kith", "reach", [t for n, t in toolset.registry(mcp, call=_answer)
                                  .tools.items() if n not in builtin])
    fake = FakeLLM(strict=True)
    every: list[float] = []
    later: list[float] = []
    fresh: list[float] = []  # characters after the shared prefix: what the cache misses
    async with running_fake_llm(fake):
        with tempfile.TemporaryDirectory() as tmp:
            async with tool_core(Path(tmp) / "k.db", fake.base_url or "",
                                 toolbox=toolbox, selector=Selector(budget)) as core:
                for conversation in toolset.conversations():
                    start = len(fake.chat_requests)
                    for n, turn in enumerate(conversation["turns"], 1):
                        for name in turn["needs"]:
                            if name.startswith(("web_", "read_page")) or "__" not in name:
                                continue  # built-in and web tools would need a real peer
                            schema = toolbox["kith"].tools[name].args.model_json_schema()
                            fake.script_tool_call(name, _args(schema))
                        fake.script([f"Answer {n}: done, with a few words of reply text."])
                        await core.send(message(conversation["id"], n, turn["text"]))
                    opened = [r for r in fake.chat_requests[start:]
                              if r["messages"][-1]["role"] == "user"]
                    texts = [wire_text(r) for r in opened]
                    for i in range(1, len(texts)):
                        share = prefix_share(texts[i - 1], texts[i])
                        every.append(share)
                        fresh.append((1 - share) * len(texts[i]))
                        if i >= 3:
                            later.append(share)
    biggest = max(schema_bytes(r.get("tools", [])) for r in fake.chat_requests)
    return [len(every), statistics.mean(every), min(every), percentile(every, 10),
            statistics.mean(later), biggest, statistics.mean(fresh)]


async def steady(mcp: int = 50, turns: int = 24) -> None:
    rows = [["selected (≤ 2.5 KB)", *await _steady(mcp, turns, BUDGET)],
            ["all tools offered", *await _steady(mcp, turns, 10**9)]]
    print_table(f"A steady conversation ({turns} messages, a list tool every 3rd) with "
                f"{mcp} MCP tools configured",
                ["tools", "requests", "tool JSON max", "prefix mean", "min", "mean from 9th",
                 "min from 9th"], rows)


async def _steady(mcp: int, turns: int, budget: int) -> list[float]:
    """bench.acts.tools' conversation (a list tool every third message) with the web and
    ``mcp`` MCP tools configured as well: what selection does to its prefix share."""
    toolbox = Toolbox({"kith": None})
    builtin = set(toolbox["kith"].tools)
    toolbox.set("kith", "reach", [t for n, t in toolset.registry(mcp, call=_answer)
                                  .tools.items() if n not in builtin])
    fake = FakeLLM(strict=True)
    async with running_fake_llm(fake):
        with tempfile.TemporaryDirectory() as tmp:
            async with tool_core(Path(tmp) / "k.db", fake.base_url or "",
                                 toolbox=toolbox, selector=Selector(budget)) as core:
                for n in range(1, turns + 1):
                    text = f"message number {n} from the person"
                    if n % 3 == 0:
                        text = f"add thing {n} to the shopping list"
                        fake.script_tool_call("list_add", {"list": "shopping",
                                                           "items": [f"thing {n}"]})
                    fake.script([f"Answer number {n}, with a few words of reply text."])
                    await core.send(message("b", n, text))
    requests = fake.chat_requests
    shares = [prefix_share(wire_text(a), wire_text(b))
              for a, b in itertools.pairwise(requests)]
    later = shares[8:]
    sizes = [schema_bytes(r.get("tools", [])) for r in requests]
    return [len(requests), max(sizes), statistics.mean(shares), min(shares),
            statistics.mean(later), min(later)]


async def _latency(connection: Connection, calls: int) -> list[float]:
    await asyncio.wait_for(connection.listed.wait(), 60)
    took = []
    for _ in range(calls):
        started = time.perf_counter()
        await connection.call("lookup_note", {"title": "wifi"})
        took.append((time.perf_counter() - started) * 1000)
    return took


async def mcp_latency(calls: int) -> None:
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        log = Path(tmp) / "none"
        stdio = Connection("home", stdio_config(log), lambda _s, _t: None)
        stdio.start()
        try:
            rows.append(["stdio", *_stats(await _latency(stdio, calls))])
        finally:
            await stdio.aclose()
        with http_server(log) as server:
            http = Connection("home", server.config(), lambda _s, _t: None)
            http.start()
            try:
                rows.append(["streamable HTTP", *_stats(await _latency(http, calls))])
            finally:
                await http.aclose()
    print_table(f"Added latency of one MCP tool call (read-only lookup, {calls} calls, "
                "ms; the tool itself does nothing)",
                ["transport", "mean", "p50", "p95", "max"], rows)


def _stats(values: list[float]) -> list[float]:
    return [statistics.mean(values), percentile(values, 50), percentile(values, 95),
            max(values)]


async def run(quick: bool = False) -> None:
    tool_bytes()
    await prefix()
    await steady()
    await mcp_latency(50 if quick else 300)
