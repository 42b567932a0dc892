"""Event reminders (``/prefs event_reminder 15``) against a real Radicale: a message that
long before each timed event of the owner's calendar, through the scheduler (driven by its
clock, not by sleeping), exactly once; it moves when the event is moved by another client
(found by the silent hourly sync turn) or through Kith (at once), and goes when the event
is cancelled or the preference is turned off. No model call anywhere."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from core.schedule.model import Kind
from tests.calendar.ics import vcal, vevent
from tests.calendar.radicale import Radicale
from tests.calendar.test_caldav import core, owner
from tests.core.harness import message
from tests.core.tools.harness import ToolCore
from tests.fakes.llm import FakeLLM

__all__ = ["core", "owner"]  # the agenda tests' served core, over its own calendar
LISBON = ZoneInfo("Europe/Lisbon")


def at(hour: int, minute: int = 0) -> datetime:
    return datetime(2027, 3, 29, hour, minute, tzinfo=LISBON)  # the fixture's Monday


async def due(core: ToolCore, when: datetime) -> list[str]:
    """Move the scheduler's clock to ``when`` and run what is due; the messages sent."""
    core.clock.now = when
    before = len(core.channel.replies)
    await core.scheduler.tick()
    await core.dispatcher.join()
    return [d.text for d in core.channel.replies[before:] if d.text]


async def test_a_reminder_fires_once_before_the_event_and_moves_with_it(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, owner: tuple[str, str]) -> None:
    reply = await core.send(message("a", 1, "/prefs event_reminder 15"))
    assert reply.startswith("I'll message you 15 minutes before each timed event")
    assert await due(core, at(8, 44)) == []
    assert await due(core, at(8, 45)) == ["📅 Coming up: Standup at 09:00"]
    assert await due(core, at(8, 46)) == []  # exactly once
    # another client moves the New York call an hour later (15:00 → 16:00 Lisbon)
    radicale.calendar(*owner).save_event(vcal(vevent(
        "ny-1", "Call with NY", "DTSTART;TZID=America/New_York:20270329T110000",
        "DTEND;TZID=America/New_York:20270329T120000")))
    assert await due(core, at(9, 0)) == []  # the hourly sync turn finds it, says nothing
    assert await due(core, at(14, 45)) == []  # not at the old time
    assert await due(core, at(15, 45)) == ["📅 Coming up: Call with NY at 16:00"]
    assert await due(core, at(16, 30)) == []
    assert fake.chat_requests == []  # no model call for any of it


async def test_moved_through_kith_it_follows_at_once_and_cancelled_it_goes(
        core: ToolCore, fake: FakeLLM) -> None:
    await core.send(message("a", 1, "/prefs event_reminder 30"))
    fake.script_tool_call("move_event", {"id": "ny-1", "date": "2027-03-29", "time": "17:00"})
    fake.script(["Moved."])
    await core.send(message("a", 2, "move the NY call to 5pm"))
    person = await core.person("user-a")
    texts = {(s.text, s.due_at) for s in await core.store.schedule.for_person(person,
                                                                               Kind.EVENT)}
    assert ("Call with NY at 17:00", at(16, 30)) in texts  # no sync turn needed
    assert await due(core, at(14, 30)) == []  # not at the old time (nor the 08:30 standup
    # reminder now: its event has begun, a reminder that late would announce the past)
    said = await core.send(message("a", 3, "/calendar cancel ny-1"))
    assert said.startswith("Cancelled")
    assert [s.text for s in await core.store.schedule.for_person(person, Kind.EVENT)
            if "NY" in s.text] == []  # its reminder went with it, not just left unsent
    assert await due(core, at(16, 30)) == []


async def test_an_event_deleted_elsewhere_before_the_next_sync_sends_nothing(
        core: ToolCore, radicale: Radicale, owner: tuple[str, str]) -> None:
    await core.send(message("a", 1, "/prefs event_reminder 15"))  # at 08:00; sync at 09:00
    radicale.calendar(*owner).event_by_uid("standup-1").delete()
    # its reminder (08:45) comes before the next sync turn: it looks once more when due
    assert await due(core, at(8, 45)) == []
    assert await due(core, at(14, 45)) == ["📅 Coming up: Call with NY at 15:00"]


async def test_off_cancels_every_event_reminder(core: ToolCore) -> None:
    await core.send(message("a", 1, "/prefs event_reminder 15"))
    person = await core.person("user-a")
    assert await core.store.schedule.for_person(person, Kind.EVENT)
    said = await core.send(message("a", 2, "/prefs event_reminder off"))
    assert said.startswith("Event reminders off.")
    assert await core.store.schedule.for_person(person, Kind.EVENT) == []
    assert await core.store.schedule.for_person(person, Kind.EVENT_SYNC) == []
    assert await due(core, at(8, 45)) == []
