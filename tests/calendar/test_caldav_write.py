"""Changing the owner's calendar through Kith against a real Radicale: created events have
the action's UID and the person's zone; moving or cancelling one occurrence of a series or
the whole of it; undo; the same create run twice makes one event; a create asked from an
untrusted context (the calendar's own entries) is proposed, and a yes does it once."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import icalendar
import pytest

from adapters.caldav.client import CaldavCalendar
from core.calendar.model import NewEvent
from tests.calendar.ics import STANDUP
from tests.calendar.radicale import Radicale
from tests.calendar.test_caldav import core
from tests.core.harness import message
from tests.core.tools.harness import ToolCore
from tests.fakes.llm import FakeLLM

__all__ = ["core"]  # the same served core, over this module's own calendar
LISBON = ZoneInfo("Europe/Lisbon")


@pytest.fixture
def owner(radicale: Radicale) -> tuple[str, str]:
    user, password = radicale.user()
    radicale.calendar(user, password).save_event(STANDUP)
    return user, password


def stored(radicale: Radicale, owner: tuple[str, str]) -> dict[str, icalendar.Calendar]:
    """What another client sees: every object on the calendar, by UID."""
    cal = radicale.calendar(*owner)
    found = {}
    for obj in cal.events():
        parsed = icalendar.Calendar.from_ical(obj.data)
        uid = str(next(iter(parsed.walk("VEVENT")))["UID"])
        found[uid] = parsed
    return found


async def test_create_event_puts_one_event_with_the_actions_uid_in_the_persons_zone(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, owner: tuple[str, str]) -> None:
    fake.script_tool_call("create_event", {"title": "Dentist", "date": "2027-03-30",
                                           "time": "15:00", "minutes": 45})
    fake.script(["Booked."])
    reply = await core.send(message("a", 1, "put the dentist on tuesday at 3"))
    assert "Added to your calendar: Dentist, Tue 30 Mar 15:00–15:45." in reply
    [uid] = [u for u in stored(radicale, owner) if u.startswith("kith-")]
    event = next(iter(stored(radicale, owner)[uid].walk("VEVENT")))
    assert event["DTSTART"].params["TZID"] == "Europe/Lisbon"
    assert event["DTSTART"].dt.replace(tzinfo=None) == datetime(2027, 3, 30, 15, 0)
    assert f"Undo: /calendar cancel {uid}" in reply
    two = await core.send(message("a", 2, "/agenda tomorrow"))
    assert "15:00–15:45  Dentist" in two
    assert await core.send(message("a", 3, f"/calendar cancel {uid}")) == (
        "Cancelled the event on your calendar.")
    assert uid not in stored(radicale, owner)


async def test_the_same_create_run_twice_makes_one_event(
        radicale: Radicale, owner: tuple[str, str]) -> None:
    cal = CaldavCalendar(radicale.url, *owner)
    start = datetime(2027, 4, 2, 10, tzinfo=LISBON)
    event = NewEvent("Call", start, start.replace(hour=11))
    for _ in range(3):  # a resumed action runs its PUT again: If-None-Match: * keeps one
        await cal.create(event, "kith-0123456789abcdef", LISBON)
    await cal.close()
    assert list(stored(radicale, owner)).count("kith-0123456789abcdef") == 1


async def test_move_and_cancel_one_occurrence_or_the_series(
        core: ToolCore, fake: FakeLLM) -> None:
    fake.script_tool_call("move_event", {"id": "standup-1", "date": "2027-04-06",
                                         "time": "10:00", "only_date": "2027-04-05"})
    fake.script(["Moved."])
    reply = await core.send(message("a", 1, "move monday's standup to tuesday 10"))
    assert "That occurrence now starts Tue 6 Apr 10:00." in reply
    week = await core.send(message("a", 2, "/agenda 2027-04-05"))
    assert "Standup" not in week
    assert "10:00–10:30  Standup" in await core.send(message("a", 3, "/agenda 2027-04-06"))
    assert "09:00–09:30  Standup" in await core.send(message("a", 4, "/agenda 2027-04-12"))
    fake.script_tool_call("cancel_event", {"id": "standup-1", "only_date": "2027-04-12"})
    fake.script(["Cancelled."])
    assert "Cancelled that occurrence" in await core.send(message("a", 5, "skip the 12th"))
    assert "Standup" not in await core.send(message("a", 6, "/agenda 2027-04-12"))
    assert "09:00–09:30  Standup" in await core.send(message("a", 7, "/agenda 2027-04-19"))
    fake.script_tool_call("cancel_event", {"id": "standup-1"})
    fake.script(["All gone."])
    assert "Cancelled the event" in await core.send(message("a", 8, "cancel standup"))
    assert "Standup" not in await core.send(message("a", 9, "/agenda 2027-04-19"))


async def test_a_create_after_reading_the_calendar_is_proposed_and_a_yes_does_it_once(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, owner: tuple[str, str]) -> None:
    fake.script_tool_call("agenda", {"span": "week"})
    fake.script_tool_call("create_event", {"title": "Focus", "date": "2027-03-31",
                                           "time": "09:00", "minutes": 120})
    fake.script(["I asked you first."])
    reply = await core.send(message("a", 1, "plan a focus block this week"))
    assert "I haven't done this" in reply and "a calendar entry" in reply
    assert not [u for u in stored(radicale, owner) if u.startswith("kith-")]
    done = await core.send(message("a", 2, "yes"))
    assert "Added to your calendar: Focus, Wed 31 Mar 09:00–11:00." in done
    fake.script(["Yes?"])  # nothing waits for a yes any more: the model answers it
    assert await core.send(message("a", 3, "yes")) == "Yes?"
    assert len([u for u in stored(radicale, owner) if u.startswith("kith-")]) == 1


async def test_a_bad_date_or_a_missing_event_is_repaired_not_shown_as_jargon(
        core: ToolCore, fake: FakeLLM) -> None:
    fake.script_tool_call("cancel_event", {"id": "no-such-event"})
    fake.script_tool_call("cancel_event", {"id": "standup-1", "only_date": "2027-04-06"})
    reply = await core.send(message("a", 1, "cancel the standup on tuesday"))
    # the first error went back to the model, which repaired the id; the second is said
    # to the person in plain words
    tool_messages = [m["content"] for m in fake.chat_requests[-1]["messages"]
                     if m["role"] == "tool"]
    assert any("not on the calendar" in m for m in tool_messages)
    assert "The event has no occurrence on Tuesday 06 April" in reply
    assert "RRULE" not in reply and "EXDATE" not in reply
