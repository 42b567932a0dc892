"""A big tool set for selection tests and benchmarks: Kith's built-in tools with the
calendar's, the web tools and 50 MCP tools of eight typical servers
(tests/fixtures/tools/mcp_tools.json), as the MCP adapter builds them; and the labelled
requests (requests.json) that need them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mcp_types as types

from adapters.mcp.config import McpServer
from adapters.mcp.tools import as_tool
from core.tools import catalog, web
from core.tools.base import Tool
from core.tools.registry import Registry, schema_bytes
from core.tools.selection import Selector
from core.tools.web import Hit, Page

FIXTURES = Path(__file__).parents[2] / "fixtures" / "tools"


class _NoWeb:
    async def search(self, query: str) -> list[Hit]:
        raise AssertionError("not called in selection tests")

    async def read(self, url: str) -> Page:
        raise AssertionError("not called in selection tests")


async def _never(name: str, arguments: dict[str, Any]) -> types.CallToolResult:
    raise AssertionError("not called in selection tests")


def mcp_tools(count: int = 50, call: Any = _never) -> list[Tool]:
    """The first ``count`` MCP tools; ``call`` answers them (default: they must not run)."""
    found: list[Tool] = []
    config = McpServer(command=["unused"])
    for item in json.loads((FIXTURES / "mcp_tools.json").read_text())[:count]:
        remote = types.Tool(
            name=item["name"], description=item["description"],
            input_schema=item["inputSchema"],
            annotations=types.ToolAnnotations(read_only_hint=item["readOnly"]))
        tool = as_tool(item["server"], config, remote, call)
        assert tool is not None
        found.append(tool)
    return found


def registry(mcp: int = 50, with_web: bool = True, call: Any = _never) -> Registry:
    extra = [*(web.tools(_NoWeb()) if with_web else ()), *mcp_tools(mcp, call)]
    builtin = catalog.registry((*catalog.DEFAULT, *catalog.CALENDAR))  # the calendar too
    return Registry([*builtin.tools.values(), *extra])


def conversations() -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads((FIXTURES / "requests.json").read_text())
    return loaded


def run_labelled(selector: Selector, every: Registry) -> tuple[int, int, list[str], list[int]]:
    """Hits, requests (that need only tools ``every`` has), the misses described, and each
    request's tool JSON bytes; the model is taken to call what each request needed (so
    recency plays its part)."""
    hits, total, misses, sizes = 0, 0, [], []
    for conversation in conversations():
        before: list[str] = []
        for turn in conversation["turns"]:
            offered = selector.offer(conversation["id"], every, turn["text"])
            names = [s["function"]["name"] for s in offered.schemas()]
            kept = [n for n in before if n in names]
            assert names[:len(kept)] == kept  # what stays keeps its place, in front
            before = names
            sizes.append(schema_bytes(offered.schemas()))
            if not all(n in every.tools for n in turn["needs"]):
                continue  # a request for a tool this configuration lacks
            total += 1
            if all(n in names for n in turn["needs"]):
                hits += 1
            else:
                misses.append(f"{turn['text']!r} needs {turn['needs']}, offered {names}")
            for name in turn["needs"]:
                offered.get(name)
    return hits, total, misses, sizes
