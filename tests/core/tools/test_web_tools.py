"""web_search and read_page through a real core: a strict scripted model, a SearXNG
stand-in answering its JSON format, and loopback pages with navigation, scripts and an
injected instruction."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from adapters.webfetch.fetch import Fetcher
from adapters.webfetch.web import WebAccess
from bots.reach import NO_SEARCH, Reach, web_line
from core.memory.service import MemorySettings
from core.settings import Settings
from core.tools import web
from core.tools.catalog import Toolbox
from tests.adapters.webfetch.pages import INJECTED, Names, Site
from tests.core.harness import message
from tests.core.tools.harness import tool_core, tool_messages
from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.fakes.loopback import serve_loopback
from tests.fakes.obedient import ATTACKS, MARK, ObedientModel


@dataclass
class Net:
    site: Site
    port: int
    toolbox: Toolbox

    @property
    def article(self) -> str:
        return f"http://pages.test:{self.port}/article"


@pytest.fixture
async def net() -> AsyncIterator[Net]:
    site = Site()
    async with serve_loopback(site) as base:
        port = int(base.rsplit(":", 1)[1])
        fetcher = Fetcher(allow_hosts=frozenset({"pages.test"}),
                          resolver=Names({"pages.test": [["127.0.0.1"]]}))
        access = WebAccess(f"http://127.0.0.1:{port}", fetcher)  # the owner's SearXNG
        toolbox = Toolbox({"kith": None})
        toolbox.set("kith", "web", web.tools(access), by_name=True)
        try:
            yield Net(site, port, toolbox)
        finally:
            await access.aclose()


async def test_search_then_read_then_cite(tmp_path: Path, fake: FakeLLM, net: Net) -> None:
    fake.script_tool_call("web_search", {"query": "tagus tides lisbon"})
    fake.script_tool_call("read_page", {"url": net.article})
    cited = f"Spring tides reach 3.8 m in March ([Tides of the Tagus]({net.article}))."
    fake.script([cited])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", toolbox=net.toolbox) as core:
        reply = await core.send(message("a", 1, "How high do the tides get in Lisbon?"))
    assert reply == cited
    offered = [t["function"]["name"] for t in fake.chat_requests[0]["tools"]]
    assert offered[-2:] == ["web_search", "read_page"]
    search_path, _ = net.site.requests[0]
    assert search_path == "/search"
    results = tool_messages(fake.chat_requests[1], origin="web")[0]
    assert "[1] Tagus Estuary - Wikipedia\n    https://en.wikipedia.org/wiki/Tagus_Estuary" \
        in results
    assert "[2] Tide Times and Tide Chart for Lisbon" in results
    assert "duplicate" not in results and "javascript:" not in results and "[3]" not in results
    page = tool_messages(fake.chat_requests[2], origin="web")[1]
    assert page.startswith(f"Title: Tides of the Tagus\nURL: {net.article}\n\n")
    assert "spring tide reaches 3.8 metres" in page
    for chrome in ("window.track", "Privacy", "Shop", "color: red"):
        assert chrome not in page  # scripts, styles, navigation and footer are gone
    assert INJECTED in page  # kept as the page's words; what may act on it is the policy's


async def test_a_link_the_person_sends_is_read(tmp_path: Path, fake: FakeLLM, net: Net) -> None:
    """A text-emitted call, as small models write them."""
    fake.script([f'[read_page(url="{net.article}")]'])
    fake.script([f"It is about tides: [Tides of the Tagus]({net.article})"])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", toolbox=net.toolbox) as core:
        reply = await core.send(message("a", 1, f"what is this about? {net.article}"))
    assert reply == f"It is about tides: [Tides of the Tagus]({net.article})"
    assert "Title: Tides of the Tagus" in tool_messages(fake.chat_requests[1], "web")[0]


async def test_a_private_link_is_refused_honestly(tmp_path: Path, fake: FakeLLM,
                                                  net: Net) -> None:
    inside = f"http://127.0.0.1:{net.port}/article"  # the allow-list names pages.test only
    fake.script_tool_call("read_page", {"url": inside})
    fake.script(["I can't open that link: it points inside a private network."])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", toolbox=net.toolbox) as core:
        await core.send(message("a", 1, f"read {inside}"))
    told = tool_messages(fake.chat_requests[1])[0]
    assert told == ("error: cannot read that page: that link is not allowed: 127.0.0.1 is a "
                    "loopback address")
    assert net.site.requests == []  # nothing reached the page


@pytest.mark.parametrize("how", ["native", "text"])
async def test_the_pages_injected_instruction_changes_nothing(
        tmp_path: Path, fake: FakeLLM, net: Net, how: str) -> None:
    """The page asks for list_add; a model that obeys calls it: after the page is read the
    turn is tainted, so the call is only proposed to the person and the list stays empty."""
    fake.script_tool_call("read_page", {"url": net.article})
    if how == "native":
        fake.script_tool_call("list_add", {"list": "shopping", "items": ["wire 500 EUR"]})
    else:
        fake.script(['[list_add(list="shopping", items=["wire 500 EUR"])]'])
    fake.script(["The page is about the tides of the Tagus."])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", toolbox=net.toolbox) as core:
        await core.send(message("a", 1, f"what does {net.article} say?"))
        person = await core.person("user-a")
        assert await core.store.lists.items(person, None) == []
        waiting = await core.store.actions.proposals("kith/test/a", person)
    assert [(a.tool, a.reason) for a in waiting] == [("list_add", "a web page")]
    assert tool_messages(fake.chat_requests[2])[1].startswith("Not done yet")


async def test_a_page_is_never_learned_as_the_persons(tmp_path: Path, net: Net) -> None:
    """A page carrying an attack, read by a model that obeys whatever it reads: the reply is
    poisoned, but learning reads the person's own words only, and nothing is learned."""
    model = ObedientModel()
    fake = FakeLLM(reply=model)
    net.site.article = ATTACKS[0]
    fake.script_tool_call("read_page", {"url": net.article})
    async with running_fake_llm(fake), tool_core(
            tmp_path / "k.db", fake.base_url or "", toolbox=net.toolbox,
            memory=MemorySettings(learn=True)) as core:
        reply = await core.send(message("a", 1, f"what does {net.article} say?"))
        await core.agent.wait_background()
        await core.agent.learner.flush()
        person = await core.person("user-a")
        assert MARK in reply  # the worst case: the model obeyed the page
        assert model.extractions and MARK not in "".join(model.extractions)
        assert await core.agent.memory.learned(person) == ({}, [])
        assert await core.store.memories.latest(person, 50) == []


async def test_a_search_engine_without_json_is_named(net: Net) -> None:
    access = WebAccess(f"http://127.0.0.1:{net.port}/nojson", Fetcher())
    try:
        with pytest.raises(web.WebError, match="HTTP 404"):
            await access.search("x")
    finally:
        await access.aclose()


def test_searxng_answers_become_hits() -> None:
    from adapters.webfetch.web import hits
    from tests.adapters.webfetch.pages import searxng_json

    found = hits(json.loads(searxng_json()))
    assert [h.url for h in found] == ["https://en.wikipedia.org/wiki/Tagus_Estuary",
                                      "https://www.tideschart.com/Portugal/Lisbon/"]
    with pytest.raises(web.WebError, match="not SearXNG JSON"):
        hits({"error": "rate limited"})


async def test_no_search_url_no_web_tools(tmp_path: Path) -> None:
    from bots.fleet import BotDefinition
    from core.profile import BotProfile

    bot = BotDefinition(BotProfile("kith", "You are Kith."), {}, tmp_path / "bot.toml")
    off = Settings(data_dir=tmp_path)
    reach = Reach(off, [bot])
    assert not {"web_search", "read_page"} & set(reach.toolbox["kith"].tools)
    assert web_line(off) == NO_SEARCH and "KITH_WEB__SEARCH_URL" in NO_SEARCH
    await reach.aclose()
    on = Settings(data_dir=tmp_path, web={"search_url": "http://127.0.0.1:9"})
    reach = Reach(on, [bot])
    assert {"web_search", "read_page"} <= set(reach.toolbox["kith"].tools)
    await reach.aclose()
    only = BotDefinition(BotProfile("kith", "p", tools=("list_show", "read_page")), {},
                         tmp_path / "bot.toml")
    reach = Reach(on, [only])
    assert list(reach.toolbox["kith"].tools) == ["list_show", "read_page"]
    await reach.aclose()
