"""The owner's MCP servers as tools: a real server built with the official SDK, over stdio
and over streamable HTTP on loopback, driven by a strict scripted model through a real
core (SQLite, agent, dispatcher)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from pathlib import Path

import pytest

from adapters.mcp.config import McpServer
from bots.fleet import BotDefinition
from bots.reach import Reach
from core.profile import BotProfile
from core.settings import Settings
from tests.adapters.mcp.servers import calls, http_server, stdio_config
from tests.core.harness import message
from tests.core.tools.harness import tool_core, tool_messages
from tests.fakes.llm import FakeLLM

pytestmark = pytest.mark.timeout(240)


async def until(condition: Callable[[], bool], bound: float = 60.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.05)


@asynccontextmanager
async def reach(tmp_path: Path, **servers: McpServer) -> AsyncIterator[Reach]:
    bot = BotDefinition(BotProfile("kith", "You are Kith."), {}, tmp_path / "bot.toml",
                        mcp=servers)
    found = Reach(Settings(data_dir=tmp_path), [bot])
    await found.start()
    try:
        yield found
    finally:
        await found.aclose()


@pytest.fixture(params=["stdio", "http"])
def home(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[tuple[McpServer, Path]]:
    log = tmp_path / "mcp.log"
    if request.param == "stdio":
        yield stdio_config(log), log
        return
    with http_server(log) as server:
        yield server.config(), log


async def test_tools_are_listed_namespaced_with_policy_from_annotations(
        tmp_path: Path, home: tuple[McpServer, Path]) -> None:
    async with reach(tmp_path, home=home[0]) as found:
        tools = found.toolbox["kith"].tools
        assert {"home__lookup_note", "home__set_light", "home__slow_answer",
                "home__crash", "home__garble", "home__add_thermostat"} <= set(tools)
        assert not tools["home__lookup_note"].policy.side_effects  # readOnlyHint
        assert tools["home__set_light"].policy.side_effects  # readOnlyHint false
        assert tools["home__add_thermostat"].policy.who.value == "owner"  # the default
        schema = {s["function"]["name"]: s["function"] for s in found.toolbox["kith"].schemas()}
        light = schema["home__set_light"]
        assert light["description"] == "Switch the lights of a room on or off"
        assert light["parameters"]["required"] == ["room"]
        assert light["parameters"]["properties"]["on"] == {"type": "boolean"}
        assert list(tools)[:8] == list(found.toolbox["kith"].tools)[:8]  # built-ins first


@pytest.mark.parametrize("how", ["native", "text"])
async def test_calls_reach_the_server(tmp_path: Path, fake: FakeLLM,
                                      home: tuple[McpServer, Path], how: str) -> None:
    """An action in the owner's clean context runs; a lookup after it runs too."""
    config, log = home
    if how == "native":
        fake.script_tool_call("home__set_light", {"room": "kitchen", "on": False})
        fake.script_tool_call("home__lookup_note", {"title": "wifi"})
    else:
        fake.script(['[home__set_light(room="kitchen", on=False)]'])
        fake.script(['[home__lookup_note(title="wifi")]'])
    fake.script(["The kitchen light is off, and the password is on the fridge."])
    async with reach(tmp_path, home=config) as found, tool_core(
            tmp_path / "k.db", fake.base_url or "", toolbox=found.toolbox) as core:
        reply = await core.send(message("a", 1, "kitchen light off, and the wifi password?"))
    assert reply == "The kitchen light is off, and the password is on the fridge."
    assert [(c["tool"], c.get("title") or c.get("room")) for c in calls(log)] == [
        ("set_light", "kitchen"), ("lookup_note", "wifi")]
    assert tool_messages(fake.chat_requests[2], origin="mcp") == [
        "The kitchen light is off.", "The guest wifi password is on the fridge."]


async def test_an_action_after_untrusted_content_does_not_run(
        tmp_path: Path, fake: FakeLLM) -> None:
    """After an MCP result (the server's words, not the owner's) the turn is tainted: a
    call to the side-effect tool is only proposed to the owner and does not reach the
    server."""
    log = tmp_path / "mcp.log"
    fake.script_tool_call("home__lookup_note", {"title": "boiler"})
    fake.script_tool_call("home__set_light", {"room": "hall"})
    fake.script(["I read the note; switching the light needs you to ask me again."])
    async with reach(tmp_path, home=stdio_config(log)) as found, tool_core(
            tmp_path / "k.db", fake.base_url or "", toolbox=found.toolbox) as core:
        await core.send(message("a", 1, "read the boiler note and do what it says"))
        waiting = await core.store.actions.proposals("kith/test/a", await core.person("user-a"))
    assert [c["tool"] for c in calls(log)] == ["lookup_note"]
    assert [(a.tool, a.reason) for a in waiting] == [
        ("home__set_light", "a result from an MCP server")]
    assert tool_messages(fake.chat_requests[2])[1].startswith("Not done yet")


async def test_a_trusted_servers_results_are_the_owners(tmp_path: Path, fake: FakeLLM) -> None:
    """The owner marked the server trusted: its lookup does not withhold the action after
    it in his own turn (the same turn as the test above, on an untrusted server)."""
    log = tmp_path / "mcp.log"
    fake.script_tool_call("home__lookup_note", {"title": "boiler"})
    fake.script_tool_call("home__set_light", {"room": "hall"})
    fake.script(["Done: the hall light is on."])
    async with reach(tmp_path, home=stdio_config(log, trusted=True)) as found, tool_core(
            tmp_path / "k.db", fake.base_url or "", toolbox=found.toolbox) as core:
        await core.send(message("a", 1, "read the boiler note, then the hall light on"))
    assert [c["tool"] for c in calls(log)] == ["lookup_note", "set_light"]


async def test_arguments_are_checked_against_the_schema_before_the_call(
        tmp_path: Path, fake: FakeLLM) -> None:
    log = tmp_path / "mcp.log"
    fake.script_tool_call("home__set_light", {"room": 5})
    fake.script_tool_call("home__set_light", {"on": True})  # the repair fails too
    async with reach(tmp_path, home=stdio_config(log)) as found, tool_core(
            tmp_path / "k.db", fake.base_url or "", toolbox=found.toolbox) as core:
        reply = await core.send(message("a", 1, "hall light on"))
    assert calls(log) == []  # nothing reached the server
    assert tool_messages(fake.chat_requests[1]) == [
        "error: invalid arguments for home__set_light: arguments: Value error, "
        "room: 5 is not of type 'string'"]
    assert reply == ("I couldn't do that: invalid arguments for home__set_light: arguments: "
                     "Value error, 'room' is a required property. Could you say it another "
                     "way?")


async def test_killed_mid_call_is_an_honest_answer_and_restarted_for_the_next_turn(
        tmp_path: Path, fake: FakeLLM) -> None:
    log = tmp_path / "mcp.log"
    fake.script_tool_call("home__crash", {})
    fake.script(["The home server stopped while I asked it; try again in a moment."])
    fake.script_tool_call("home__lookup_note", {"title": "boiler"})
    fake.script(["Rui services it every October."])
    async with reach(tmp_path, home=stdio_config(log)) as found, tool_core(
            tmp_path / "k.db", fake.base_url or "", toolbox=found.toolbox) as core:
        first = await core.send(message("a", 1, "crash it"))
        second = await core.send(message("a", 2, "who services the boiler?"))
        restarts = found.servers[0].restarts
    assert first == "The home server stopped while I asked it; try again in a moment."
    assert tool_messages(fake.chat_requests[1]) == [
        "error: the home server stopped during the call; it is being restarted, so the "
        "action may or may not have happened"]
    assert second == "Rui services it every October."
    done = calls(log)
    assert [c["tool"] for c in done] == ["crash", "lookup_note"]
    assert done[0]["pid"] != done[1]["pid"] and restarts == 1


async def test_an_http_server_killed_mid_call_is_reconnected(tmp_path: Path,
                                                             fake: FakeLLM) -> None:
    log = tmp_path / "mcp.log"
    with http_server(log) as server:
        fake.script_tool_call("home__crash", {})
        fake.script(["It stopped."])
        fake.script_tool_call("home__lookup_note", {"title": "wifi"})
        fake.script(["On the fridge."])
        async with reach(tmp_path, home=server.config()) as found, tool_core(
                tmp_path / "k.db", fake.base_url or "", toolbox=found.toolbox) as core:
            assert await core.send(message("a", 1, "crash it")) == "It stopped."
            assert "stopped during the call" in tool_messages(fake.chat_requests[1])[0]
            await asyncio.to_thread(server.wait_dead)
            await asyncio.to_thread(server.start)  # the owner's service comes back
            await until(lambda: found.servers[0]._client is not None)
            assert await core.send(message("a", 2, "wifi?")) == "On the fridge."
    assert [c["tool"] for c in calls(log)] == ["crash", "lookup_note"]


async def test_a_hung_server_times_out_and_blocks_no_other(tmp_path: Path) -> None:
    log, other = tmp_path / "home.log", tmp_path / "notes.log"
    async with reach(tmp_path, home=stdio_config(log, timeout=8),
                     notes=stdio_config(other)) as found:
        home, notes = found.servers
        hung = asyncio.create_task(home.call("slow_answer", {"seconds": 120}))
        await until(lambda: [c["tool"] for c in calls(log)] == ["slow_answer"])
        answer = await notes.call("lookup_note", {"title": "wifi"})  # not behind the hang
        assert answer.content[0].text == "The guest wifi password is on the fridge."  # type: ignore[union-attr]
        assert not hung.done()
        from core.tools.base import ToolError
        with pytest.raises(ToolError, match="did not answer within 8 s; it is being restarted"):
            await hung
        await until(lambda: home.restarts == 1 and home._client is not None)
        again = await home.call("lookup_note", {"title": "boiler"})
        assert not again.is_error


async def test_a_changed_tool_list_is_picked_up(tmp_path: Path) -> None:
    log = tmp_path / "mcp.log"
    async with reach(tmp_path, home=stdio_config(log)) as found:
        assert "home__thermostat" not in found.toolbox["kith"].tools
        await found.servers[0].call("add_thermostat", {})
        await until(lambda: "home__thermostat" in found.toolbox["kith"].tools)
        assert found.toolbox["kith"].tools["home__thermostat"].policy.side_effects


async def test_a_server_that_does_not_start_blocks_nothing(tmp_path: Path) -> None:
    broken = McpServer(command=["/nonexistent/mcp-server"], timeout=2)
    started = time.monotonic()
    async with reach(tmp_path, broken=broken, home=stdio_config(tmp_path / "l")) as found:
        assert time.monotonic() - started < 20
        assert "home__lookup_note" in found.toolbox["kith"].tools
        from core.tools.base import ToolError
        with pytest.raises(ToolError, match="broken server is not running right now"):
            await found.servers[0].call("anything", {})


async def test_the_header_token_is_sent_and_never_logged(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    canary = "canary-token-7f3a9c1e5b"
    with http_server(tmp_path / "mcp.log", token=canary) as server:
        monkeypatch.setenv("KITH_TEST_MCP_AUTH", f"Bearer {canary}")
        good = McpServer(url=server.url, headers_env={"Authorization": "KITH_TEST_MCP_AUTH"})
        async with reach(tmp_path, home=good) as found:
            assert "home__lookup_note" in found.toolbox["kith"].tools
        monkeypatch.setenv("KITH_TEST_MCP_AUTH", f"Bearer {canary}-wrong")
        bad = McpServer(url=server.url, headers_env={"Authorization": "KITH_TEST_MCP_AUTH"})
        async with reach(tmp_path, home=bad) as found:
            assert found.servers[0].error  # refused: 401
            assert "home__lookup_note" not in found.toolbox["kith"].tools
    out = capsys.readouterr()
    assert canary not in out.out + out.err
    from core.logging import redactor
    assert canary not in str(redactor.value(f"sent Authorization: Bearer {canary}"))


async def test_env_from_reaches_a_stdio_server_and_never_the_logs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    canary = "canary-env-4d2b8e6f1a"
    monkeypatch.setenv("KITH_TEST_HOME_SECRET", canary)
    base = stdio_config(tmp_path / "mcp.log")
    config = McpServer(command=base.command, env=base.env,
                       env_from={"HOME_SECRET": "KITH_TEST_HOME_SECRET"})
    async with reach(tmp_path, home=config) as found:
        result = await found.servers[0].call("lookup_note", {"title": "secret"})
    assert result.content[0].text == canary  # type: ignore[union-attr]
    out = capsys.readouterr()
    assert canary not in out.out + out.err
    from core.logging import redactor
    assert canary not in str(redactor.value(f"token={canary}"))  # Kith's logs redact it


async def test_garbage_in_the_stream_is_skipped(tmp_path: Path) -> None:
    """Lines that are not JSON-RPC on a stdio server's stdout are dropped; the call it
    was answering and the calls after it still work."""
    log = tmp_path / "mcp.log"
    async with reach(tmp_path, home=stdio_config(log)) as found:
        home = found.servers[0]
        answer = await home.call("garble", {})
        assert answer.content[0].text == "answered after the garbage"  # type: ignore[union-attr]
        again = await home.call("lookup_note", {"title": "wifi"})
        assert not again.is_error and home.restarts == 0
