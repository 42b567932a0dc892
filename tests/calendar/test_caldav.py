"""The owner's calendar over CalDAV against a real Radicale: /agenda, the agenda tool,
the cache (requests per turn), isolation and a failing server."""

from __future__ import annotations

import base64
import socket
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from bots.calendars import FleetCalendars
from bots.fleet import load_bot
from core.calendar.agenda import NO_CALENDAR
from core.events import ChatKind, Trust
from tests.calendar.ics import CONFERENCE, NEW_YORK, STANDUP, vcal, vevent
from tests.calendar.radicale import Radicale
from tests.core.harness import message
from tests.core.tools.harness import ToolCore, tool_core
from tests.e2e.procs import run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot

LISBON = ZoneInfo("Europe/Lisbon")
MONDAY = datetime(2027, 3, 29, 8, 0, tzinfo=LISBON)  # the day after Lisbon's DST change
WEEK = [
    "Mon 29 Mar",
    "  all day  Conference (Porto), until Tue 30 Mar",
    "  09:00–09:30  Standup",
    "  15:00–16:00  Call with NY",
    "Tue 30 Mar",
    "  all day  Conference (Porto), continued",
]  # "week" is today and the next six days: the next standup (Mon 5 Apr) is outside


def bot_with_calendar(root: Path, url: str, user: str, env: str = "KITH_TEST_CAL_PASSWORD",
                      extra: str = "") -> Path:
    return write_bot(root / "bots", toml=f"""
        timezone = "Europe/Lisbon"
        [channels.web]
        [channels.terminal]
        [calendar]
        url = "{url}"
        username = "{user}"
        password_env = "{env}"
        {extra}
        """)


@pytest.fixture
def owner(radicale: Radicale) -> tuple[str, str]:
    user, password = radicale.user()
    cal = radicale.calendar(user, password)
    for ics in (STANDUP, CONFERENCE, NEW_YORK):
        cal.save_event(ics)
    return user, password


@asynccontextmanager
async def calendar_core(root: Path, radicale: Radicale, owner: tuple[str, str], model_url: str,
                        monkeypatch: pytest.MonkeyPatch, **settings: Any
                        ) -> AsyncIterator[ToolCore]:
    """A core on Monday whose bot has the owner's calendar (``settings``: more of
    :func:`tool_core`'s)."""
    monkeypatch.setenv("KITH_TEST_CAL_PASSWORD", owner[1])
    definition = load_bot(bot_with_calendar(root, radicale.url, owner[0]))
    calendars = FleetCalendars([definition])
    try:
        async with tool_core(root / "kith.db", model_url, now=MONDAY,
                             tools=definition.profile.tools, calendars=calendars,
                             **settings) as core:
            yield core
    finally:
        await calendars.close()


@pytest.fixture
async def core(tmp_path: Path, radicale: Radicale, owner: tuple[str, str], fake: FakeLLM,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ToolCore]:
    async with calendar_core(tmp_path, radicale, owner, fake.url, monkeypatch) as core:
        yield core


async def test_agenda_week_shows_what_another_client_created_in_the_persons_zone(
        core: ToolCore) -> None:
    reply = await core.send(message("a", 1, "/agenda week"))
    assert reply.splitlines() == WEEK


async def test_one_request_per_turn_that_needs_the_calendar_and_none_for_others(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, owner: tuple[str, str]) -> None:
    user, password = owner
    await core.send(message("a", 1, "/agenda"))  # cold: discovery, token and one REPORT
    before = radicale.requests(user)
    fake.script(["Hello!"])
    await core.send(message("a", 2, "hello there"))  # a turn without the calendar
    assert radicale.requests(user) == before
    radicale.calendar(user, password).save_event(vcal(vevent(
        "new-1", "Dentist", "DTSTART;TZID=Europe/Lisbon:20270330T150000",
        "DTEND;TZID=Europe/Lisbon:20270330T160000")))
    before = radicale.requests(user)
    reply = await core.send(message("a", 3, "/agenda tomorrow"))
    assert "15:00–16:00  Dentist" in reply
    # the getctag PROPFIND saw a change: one sync-collection REPORT, one GET of the event
    assert radicale.requests(user) - before == 3
    before = radicale.requests(user)
    await core.send(message("a", 4, "/agenda week"))
    assert radicale.requests(user) - before == 1  # nothing changed: the PROPFIND alone


async def test_an_event_deleted_elsewhere_leaves_the_agenda(
        core: ToolCore, radicale: Radicale, owner: tuple[str, str]) -> None:
    assert "Call with NY" in await core.send(message("a", 1, "/agenda"))
    cal = radicale.calendar(*owner)
    cal.event_by_uid("ny-1").delete()
    assert "Call with NY" not in await core.send(message("a", 2, "/agenda"))


async def test_the_agenda_tool_reads_the_calendar_and_its_result_is_marked_untrusted(
        core: ToolCore, fake: FakeLLM) -> None:
    fake.script_tool_call("agenda", {"span": "tomorrow"})
    fake.script(["You have the conference all day."])
    reply = await core.send(message("a", 1, "what's on tomorrow?"))
    assert reply == "You have the conference all day."
    first, second = fake.chat_requests[-2:]
    assert "agenda" in [t["function"]["name"] for t in first["tools"]]
    tool_message = second["messages"][-1]
    assert tool_message["role"] == "tool"
    assert "all day  Conference (Porto) [id conf-1], continued" in tool_message["content"]


async def test_nobody_but_the_owner_reads_the_owners_calendar(core: ToolCore) -> None:
    inbound = message("b", 1, "/agenda week", trust=Trust.ALLOWED)
    assert await core.send(inbound) == NO_CALENDAR


async def test_in_a_group_the_owner_gets_busy_blocks_only(core: ToolCore) -> None:
    reply = await core.send(replace(message("g", 1, "/agenda week"), chat=ChatKind.GROUP))
    assert reply.splitlines() == [
        "Mon 29 Mar", "  09:00–09:30  busy", "  15:00–16:00  busy"]  # all day: not busy


async def test_a_bot_without_a_calendar_offers_no_calendar_tool(tmp_path: Path,
                                                                fake: FakeLLM) -> None:
    assert fake.base_url
    async with tool_core(tmp_path / "kith.db", fake.base_url, now=MONDAY) as core:
        fake.script(["Hi"])
        await core.send(message("a", 1, "hi"))
        tools = [t["function"]["name"] for t in fake.chat_requests[-1]["tools"]]
        assert "agenda" not in tools
        assert await core.send(message("a", 2, "/agenda")) == NO_CALENDAR


@pytest.fixture
def silent_server() -> Iterator[str]:
    """Accepts connections and never answers (a hung calendar server)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        sock.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = sock.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{sock.getsockname()[1]}/"
    stop.set()
    thread.join(5)
    for conn in held:
        conn.close()
    sock.close()


@pytest.mark.parametrize("problem", ["down", "slow", "401"])
async def test_a_failing_calendar_server_gets_one_honest_line(
        tmp_path: Path, radicale: Radicale, owner: tuple[str, str], fake: FakeLLM,
        silent_server: str, monkeypatch: pytest.MonkeyPatch, problem: str) -> None:
    url = {"down": f"http://127.0.0.1:{free_port()}/", "slow": silent_server,
           "401": radicale.url}[problem]
    monkeypatch.setenv("KITH_TEST_CAL_PASSWORD", "wrong" if problem == "401" else owner[1])
    definition = load_bot(bot_with_calendar(tmp_path, url, owner[0], extra="timeout = 1"))
    calendars = FleetCalendars([definition])
    assert fake.base_url
    expected = {"down": "can't reach the calendar server", "slow": "didn't answer in time",
                "401": "refused the login"}[problem]
    async with tool_core(tmp_path / "kith.db", fake.base_url, now=MONDAY,
                         tools=definition.profile.tools, calendars=calendars) as core:
        reply = await core.send(message("a", 1, "/agenda"))
        assert expected in reply and "\n" not in reply
        assert owner[1] not in reply
        fake.script(["Still here."])
        assert await core.send(message("a", 2, "hello")) == "Still here."
    await calendars.close()


def test_the_calendar_password_never_appears_in_debug_logs(
        tmp_path: Path, radicale: Radicale, owner: tuple[str, str]) -> None:
    user, password = owner
    bot_with_calendar(tmp_path, radicale.url, user)
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    fake = FakeLLM()
    with running_fake_llm_sync(fake) as llm:
        run = run_kith(tmp_path, "chat", stdin="/agenda 2027-03-29\n/agenda 2027-04-05\n",
                       KITH_LLM__BASE_URLS=llm, KITH_TEST_CAL_PASSWORD=password,
                       KITH_LOG_LEVEL="DEBUG", KITH_LOG_JSON="true",
                       KITH_BOTS_DIR=str(tmp_path / "bots"))
    out = run.stdout + run.stderr
    assert "Standup" in out, out[-3000:]
    assert password not in out and basic not in out
    db = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file()
                  and "bots" not in p.parts)
    assert password.encode() not in db


def test_bad_calendar_config_names_the_field(tmp_path: Path) -> None:
    bot_with_calendar(tmp_path, "ftp://nowhere", "ana", env="KITH_NOT_SET_ANYWHERE")
    run = run_kith(tmp_path, "check", KITH_BOTS_DIR=str(tmp_path / "bots"))
    assert run.returncode == 2
    assert "calendar.url" in run.stderr and "Traceback" not in run.stderr





async def test_the_free_time_tool_says_times_only(core: ToolCore, fake: FakeLLM) -> None:
    fake.script_tool_call("free_time", {"span": "today", "minutes": 90})
    fake.script(["You're free from 09:30 to 15:00."])
    await core.send(message("a", 1, "when am I free today for 90 minutes?"))
    tool_message = fake.chat_requests[-1]["messages"][-1]
    assert "Mon 29 Mar 09:30–15:00" in tool_message["content"]
    assert "Mon 29 Mar 16:00–18:00" in tool_message["content"]
    assert "Standup" not in tool_message["content"]


async def test_the_daily_briefing_includes_todays_events(core: ToolCore) -> None:
    core.clock.now = datetime(2027, 3, 28, 20, 0, tzinfo=LISBON)
    await core.send(message("a", 1, "/briefing 07:30"))
    core.clock.now = datetime(2027, 3, 29, 7, 30, tzinfo=LISBON)
    await core.scheduler.tick()
    await core.dispatcher.join()
    briefing = core.channel.replies[-1].text
    assert briefing.splitlines() == [
        "Good morning! Your Monday 29 March:",
        "On your calendar:",
        "- all day  Conference (Porto), until Tue 30 Mar",
        "- 09:00–09:30  Standup",
        "- 15:00–16:00  Call with NY",
    ]
