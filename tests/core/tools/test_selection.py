"""Tool selection on a labelled set: built-in, web and 50 MCP tools, ≤ 2.5 KB of tool JSON
per request, the needed tool offered in at least 95 % of the requests."""

from __future__ import annotations

import json
from pathlib import Path

from core.tools import catalog
from core.tools.catalog import Toolbox
from core.tools.registry import schema_bytes
from core.tools.selection import BUDGET, Offered, Selector
from tests.core.harness import message
from tests.core.tools import toolset
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM, running_fake_llm


def test_the_labelled_set_is_large_and_its_tools_exist() -> None:
    every = toolset.registry()
    turns = [t for c in toolset.conversations() for t in c["turns"]]
    assert len(turns) >= 100
    assert all(n in every.tools for t in turns for n in t["needs"])
    assert schema_bytes(every.schemas()) > 4 * BUDGET  # selection has work to do


def test_needed_tools_are_offered_within_the_budget() -> None:
    hits, total, misses, sizes = toolset.run_labelled(Selector(), toolset.registry())
    assert max(sizes) <= BUDGET  # each request
    assert hits / total >= 0.95, "\n".join(misses)


def test_everything_is_offered_when_it_fits() -> None:
    small = catalog.registry()  # the default built-ins: 1.7 KB
    assert Selector().offer("c", small, "hello") is small


def test_an_allowed_tool_that_was_not_offered_still_runs() -> None:
    every = toolset.registry()
    offered = Selector().offer("c", every, "play some jazz")
    assert isinstance(offered, Offered)
    names = {s["function"]["name"] for s in offered.schemas()}
    assert "music__play" in names and "code__deploy" not in names
    assert offered.get("code__deploy") is every.tools["code__deploy"]


def test_consecutive_requests_on_one_topic_keep_the_same_tool_json() -> None:
    selector, every = Selector(), toolset.registry()
    first = selector.offer("c", every, "turn on the kitchen lights").schemas()
    again = selector.offer("c", every, "switch off the lights in the living room").schemas()
    chat = selector.offer("c", every, "thanks!").schemas()
    assert first == again == chat


async def test_each_request_through_the_agent_stays_within_the_budget(tmp_path: Path) -> None:
    """The real request body, as the fake LLM received it."""
    toolbox = Toolbox({"kith": None})
    toolbox.set("kith", "everything", [t for n, t in toolset.registry().tools.items()
                                       if n not in toolbox["kith"].tools])
    fake = FakeLLM(strict=True)
    fake.script(["Sure.", "Playing."])  # no tool ran: a claim would be asked again
    async with running_fake_llm(fake), tool_core(tmp_path / "k.db", fake.base_url or "",
                                                  toolbox=toolbox) as core:
        await core.send(message("a", 1, "turn on the kitchen lights"))
        await core.send(message("a", 2, "play some Miles Davis"))
    for request, needed in zip(fake.chat_requests, ("home__light_set", "music__play"),
                               strict=True):
        body = json.dumps(request["tools"], separators=(",", ":")).encode()
        assert len(body) <= BUDGET
        assert needed in [t["function"]["name"] for t in request["tools"]]
