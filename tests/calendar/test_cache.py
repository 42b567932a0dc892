"""The calendar cache against a real Radicale: what another client adds, changes or deletes
shows at the next turn; Kith's own writes show at once, without a request; a turn that
reads the calendar several times sends one round of requests."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from adapters.caldav.client import CaldavCalendar
from core.calendar.agenda import window_for
from core.calendar.model import NewEvent
from core.calendar.turn import OneRound
from tests.calendar.ics import CONFERENCE, STANDUP, vcal, vevent
from tests.calendar.radicale import Radicale
from tests.calendar.test_caldav import core, owner
from tests.core.harness import message
from tests.core.tools.harness import ToolCore
from tests.fakes.llm import FakeLLM

__all__ = ["core", "owner"]
LISBON = ZoneInfo("Europe/Lisbon")
NOW = datetime(2027, 3, 29, 8, tzinfo=LISBON)


def dentist(title: str = "Dentist", hour: int = 15) -> str:
    return vcal(vevent("dentist-1", title, f"DTSTART;TZID=Europe/Lisbon:20270330T{hour}0000",
                       f"DTEND;TZID=Europe/Lisbon:20270330T{hour + 1}0000"))


async def titles(cal: CaldavCalendar | OneRound) -> list[str]:
    window = window_for("week", NOW, LISBON)
    return [f"{e.start:%a %H:%M} {e.title}" for e in await cal.events(window, LISBON)]


async def test_another_clients_add_change_and_delete_show_at_the_next_read(
        radicale: Radicale) -> None:
    user, password = radicale.user()
    other = radicale.calendar(user, password)
    other.save_event(STANDUP)
    cal = CaldavCalendar(radicale.url, user, password)
    assert await titles(cal) == ["Mon 09:00 Standup"]
    other.save_event(dentist())
    assert await titles(cal) == ["Mon 09:00 Standup", "Tue 15:00 Dentist"]
    event = other.event_by_uid("dentist-1")
    event.data = dentist("Dentist (moved)", 16)
    event.save()
    assert await titles(cal) == ["Mon 09:00 Standup", "Tue 16:00 Dentist (moved)"]
    other.event_by_uid("dentist-1").delete()
    assert await titles(cal) == ["Mon 09:00 Standup"]
    other.save_event(CONFERENCE)  # an all-day event, two days
    assert [e.title for e in await cal.events(window_for("week", NOW, LISBON), LISBON)] == [
        "Conference", "Standup"]
    await cal.close()


async def test_kiths_own_writes_show_at_once_without_a_request_and_once_after_a_sync(
        radicale: Radicale) -> None:
    user, password = radicale.user()
    other = radicale.calendar(user, password)
    other.save_event(STANDUP)
    cal = CaldavCalendar(radicale.url, user, password)
    turn = OneRound(cal)
    assert await titles(turn) == ["Mon 09:00 Standup"]
    start = datetime(2027, 3, 31, 10, tzinfo=LISBON)
    await turn.create(NewEvent("Focus", start, start.replace(hour=12)), "kith-abc", LISBON)
    before = radicale.requests(user)
    assert await titles(turn) == ["Mon 09:00 Standup", "Wed 10:00 Focus"]
    assert radicale.requests(user) == before  # read from the cache this turn
    await turn.move("kith-abc", start.replace(hour=14), None, LISBON)
    before = radicale.requests(user)
    assert await titles(turn) == ["Mon 09:00 Standup", "Wed 14:00 Focus"]
    assert radicale.requests(user) == before
    other.save_event(dentist())  # the next turn syncs: Kith's event is there once
    assert await titles(OneRound(cal)) == ["Mon 09:00 Standup", "Tue 15:00 Dentist",
                                           "Wed 14:00 Focus"]
    await cal.cancel("kith-abc", None, LISBON)
    assert await titles(OneRound(cal)) == ["Mon 09:00 Standup", "Tue 15:00 Dentist"]
    await cal.close()


async def test_a_turn_reading_the_calendar_three_times_sends_one_round(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, owner: tuple[str, str]) -> None:
    user, password = owner
    await core.send(message("a", 1, "/agenda"))  # cold
    radicale.calendar(user, password).save_event(dentist())
    fake.script_tool_call("agenda", {"span": "week"})
    fake.script_tool_call("free_time", {"span": "tomorrow"})
    fake.script_tool_call("agenda", {"span": "tomorrow"})
    fake.script(["Tuesday has the dentist at 3."])
    before = radicale.requests(user)
    await core.send(message("a", 2, "what's my week like?"))
    # one round: the getctag PROPFIND, the sync REPORT and one GET of the new event
    assert radicale.requests(user) - before == 3
    tool_messages = [m["content"] for m in fake.chat_requests[-1]["messages"]
                     if m["role"] == "tool"]
    assert all("Dentist" in m for m in (tool_messages[0], tool_messages[2]))
    before = radicale.requests(user)
    fake.script(["Hello!"])
    await core.send(message("a", 3, "thanks, bye"))
    assert radicale.requests(user) == before  # a turn without the calendar: none
