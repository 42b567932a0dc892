"""People link their own calendars with /calendar connect (issue #25, tests 1 and 4's
flows): the password is taken from the next message and never reaches the model or the
history; a linked calendar serves its person's /agenda and tools; in a group only the
asker's free/busy shows; status and disconnect."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import icalendar
import pytest

from core.calendar.agenda import NO_CALENDAR
from core.calendar.busy import IN_GROUP
from core.calendar.links import SCRUBBED
from core.events import Trust
from tests.calendar.ics import STANDUP, vcal, vevent
from tests.calendar.linked import link, linked_core, said
from tests.calendar.radicale import Radicale
from tests.core.harness import message
from tests.core.tools.harness import ToolCore
from tests.fakes.llm import FakeLLM
from tests.support import free_port

CALENDAR_TOOLS = ("agenda", "free_time", "create_event", "move_event", "cancel_event")
DENTIST = vcal(vevent("bea-dentist", "Bea's dentist",
                      "DTSTART;TZID=Europe/Lisbon:20270330T150000",
                      "DTEND;TZID=Europe/Lisbon:20270330T160000"))


@pytest.fixture
def bea(radicale: Radicale) -> tuple[str, str]:
    """Bea's own account, with an event another client put there."""
    user, password = radicale.user()
    cal = radicale.calendar(user, password)
    cal.save_event(DENTIST)
    cal.save_event(STANDUP)
    return user, password


@pytest.fixture
async def core(tmp_path: Path, fake: FakeLLM) -> AsyncIterator[ToolCore]:
    assert fake.base_url
    async with linked_core(tmp_path, fake.base_url, tools=CALENDAR_TOOLS) as core:
        yield core


def _requests(radicale: Radicale) -> list[str]:
    """Every request Radicale logged so far ("PROPFIND request for '/'", …)."""
    log = radicale.log.read_text(errors="replace")
    return [f"{m[1]} request for '{m[2]}'"
            for m in re.finditer(r"\] (\w+) request for '([^']*)'", log)]


def _texts(core: ToolCore) -> bytes:
    """Every byte of the SQLite database and its WAL."""
    return b"".join(p.read_bytes() for p in core.store.path.parent.glob("kith.db*"))


async def test_a_linked_persons_calendar_serves_their_agenda_and_their_events_land_there(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, bea: tuple[str, str]) -> None:
    user, password = bea
    before = _requests(radicale)
    answer = await link(core, "b", radicale.url, user, password)
    assert answer.startswith(f"Connected: I now read your calendar at {radicale.url} as {user}")
    # the check is one PROPFIND: sent bare first, it draws the server's 401 challenge (no
    # password goes out before the server names its scheme), then once with the login
    assert _requests(radicale)[len(before):] == ["PROPFIND request for '/'"] * 2
    assert "please delete your message with the password yourself" in answer  # no eraser
    week = await core.send(said("b", "b", 3, "/agenda week"))
    assert "15:00–16:00  Bea's dentist" in week and "09:00–09:30  Standup" in week
    fake.script_tool_call("create_event", {"title": "Haircut", "date": "2027-03-31",
                                           "time": "11:00", "minutes": 30})
    fake.script(["Done."])
    reply = await core.send(said("b", "b", 4, "haircut wednesday at 11"))
    assert "Added to your calendar: Haircut, Wed 31 Mar 11:00–11:30." in reply
    mine = radicale.calendar(user, password)
    [created] = [o for o in mine.events() if "Haircut" in o.data]
    event = next(iter(icalendar.Calendar.from_ical(created.data).walk("VEVENT")))
    assert str(event["UID"]).startswith("kith-")
    assert event["DTSTART"].params["TZID"] == "Europe/Lisbon"
    # the password went to no model request and is in no stored turn nor the inbox
    assert all(password not in str(r) for r in fake.chat_requests)
    assert password.encode() not in _texts(core)
    db = sqlite3.connect(core.store.path)
    texts = [r[0] for r in db.execute("SELECT text FROM turns WHERE role = 'user'")]
    assert SCRUBBED in texts and all(password not in t for t in texts)
    payloads = [r[0] for r in db.execute("SELECT payload FROM inbox")]
    assert any(SCRUBBED in p for p in payloads) and all(password not in p for p in payloads)
    db.close()


async def test_a_wrong_password_is_said_plainly_and_nothing_is_kept(
        core: ToolCore, radicale: Radicale, bea: tuple[str, str]) -> None:
    user, _ = bea
    answer = await link(core, "b", radicale.url, user, "not-the-password")
    assert answer.startswith("That didn't work: The calendar server refused the login")
    assert "Nothing was saved" in answer
    assert await core.store.calendar_links.link(await core.person("user-b")) is None
    assert await core.send(said("b", "b", 3, "/agenda")) == NO_CALENDAR
    assert (await core.send(said("b", "b", 4, "/calendar status"))).startswith(
        "No calendar of yours is linked.")


async def test_status_and_disconnect(core: ToolCore, radicale: Radicale,
                                     bea: tuple[str, str]) -> None:
    user, password = bea
    await link(core, "b", radicale.url, user, password)
    status = await core.send(said("b", "b", 3, "/calendar status"))
    assert status.startswith(f"Your calendar: {radicale.url} as {user}, linked ")
    assert "not read since I last started" in status and password not in status
    await core.send(said("b", "b", 4, "/agenda"))
    status = await core.send(said("b", "b", 5, "/calendar status"))
    assert status.startswith(f"Your calendar: {radicale.url} as {user} (Personal), linked ")
    assert "last read " in status
    gone = await core.send(said("b", "b", 6, "/calendar disconnect"))
    assert gone.startswith("Disconnected: I deleted your calendar's address")
    assert await core.store.calendar_links.link(await core.person("user-b")) is None
    assert await core.send(said("b", "b", 7, "/agenda")) == NO_CALENDAR
    assert (await core.send(said("b", "b", 8, "/calendar disconnect"))).startswith(
        "No calendar of yours was linked")


async def test_in_a_group_the_asker_gets_their_own_busy_blocks_without_titles(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, bea: tuple[str, str]) -> None:
    user, password = bea
    await link(core, "b", radicale.url, user, password)
    shown = await core.send(said("b", "g", 1, "/agenda tomorrow", group=True))
    assert shown.splitlines() == ["Tue 30 Mar", "  15:00–16:00  busy"]
    fake.script_tool_call("agenda", {"span": "tomorrow"})
    fake.script(["You're busy from 3 to 4."])
    await core.send(said("b", "g", 2, "when am I free tomorrow?", group=True))
    result = fake.chat_requests[-1]["messages"][-1]
    assert result["role"] == "tool" and "15:00–16:00  busy" in result["content"]
    assert "dentist" not in result["content"].lower() and "[id" not in result["content"]
    # someone else in the group gets nothing of Bea's
    assert await core.send(said("c", "g", 3, "/agenda tomorrow", group=True)) == NO_CALENDAR
    # and nothing changes from a group
    assert await core.send(said("b", "g", 4, "/calendar cancel bea-dentist",
                                group=True)) == IN_GROUP
    assert (await core.send(said("b", "g", 5, "/calendar connect https://x.example/ b",
                                 group=True))).startswith("Link your calendar in our private")


async def test_the_password_goes_only_to_the_chat_where_it_was_asked_and_commands_pass(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, bea: tuple[str, str]) -> None:
    user, password = bea
    asked = await core.send(said("b", "b", 1, f"/calendar connect {radicale.url} {user}"))
    assert "send me the password" in asked
    waiting = await core.send(said("b", "b", 2, "/calendar status"))
    assert waiting.startswith(f"I'm waiting for the password for {user}")
    fake.script(["Hi all."])  # in a group the next message is just a message
    assert await core.send(said("b", "g", 1, "hello group", group=True)) == "Hi all."
    assert (await core.send(said("b", "b", 3, password))).startswith("Connected")


@pytest.mark.parametrize("group", [False, True])
async def test_a_password_typed_into_the_command_is_removed(core: ToolCore, group: bool) -> None:
    reply = await core.send(said("b", "g" if group else "b", 1, "/calendar connect "
                                 "https://dav.example/ bea hunter2-canary", group=group))
    assert reply.startswith("Please never put the password in the command")
    assert b"hunter2-canary" not in _texts(core)


@pytest.mark.parametrize(("url", "said_back"), [
    ("http://dav.example/", "Use an https:// address"),
    ("ftp://dav.example/", "The address must start with https://"),
    ("https://bea:pw@dav.example/", "Put no username or password in the address"),
])
async def test_bad_addresses_are_refused_before_any_password_is_asked(
        core: ToolCore, url: str, said_back: str) -> None:
    assert (await core.send(said("b", "b", 1, f"/calendar connect {url} bea"))).startswith(
        said_back)


async def test_a_resumed_password_turn_is_answered_from_what_was_kept(
        core: ToolCore, radicale: Radicale, bea: tuple[str, str]) -> None:
    user, password = bea
    await link(core, "b", radicale.url, user, password)
    # after a crash between the link's transaction and the turn's commit the message comes
    # back with its text scrubbed: it is answered without the model, from the link
    reply = await core.send(said("b", "b", 3, SCRUBBED))
    assert reply.startswith(f"Your calendar: {radicale.url} as {user}, linked ")


async def test_a_server_that_is_down_gets_one_line_and_nothing_is_kept(core: ToolCore) -> None:
    answer = await link(core, "b", f"http://127.0.0.1:{free_port()}/", "bea", "pw-canary")
    assert answer.startswith("That didn't work: I can't reach the calendar server")
    assert "\n" not in answer and "pw-canary" not in answer
    assert await core.store.calendar_links.link(await core.person("user-b")) is None


async def test_a_person_the_owner_approved_by_pairing_links_their_calendar(
        core: ToolCore, radicale: Radicale, bea: tuple[str, str]) -> None:
    user, password = bea
    prompt = await core.send(said("p", "p", 1, "hello", trust=Trust.UNKNOWN))
    code = prompt.rsplit(" ", 1)[-1]
    assert (await core.send(message("a", 1, f"/approve {code}"))).startswith("Approved")
    asked = await core.send(said("p", "p", 2, f"/calendar connect {radicale.url} {user}",
                                 trust=Trust.UNKNOWN))
    assert "send me the password" in asked
    answer = await core.send(said("p", "p", 3, password, trust=Trust.UNKNOWN))
    assert answer.startswith("Connected")
    week = await core.send(said("p", "p", 4, "/agenda 2027-03-30", trust=Trust.UNKNOWN))
    assert "Bea's dentist" in week


async def test_forget_all_deletes_the_linked_calendars_login_too(
        core: ToolCore, radicale: Radicale, bea: tuple[str, str]) -> None:
    user, password = bea
    await link(core, "b", radicale.url, user, password)
    reply = await core.send(said("b", "b", 3, "/forget all"))
    assert reply.endswith("And your linked calendar's login.")
    assert await core.store.calendar_links.link(await core.person("user-b")) is None
    assert await core.send(said("b", "b", 4, "/agenda")) == NO_CALENDAR
