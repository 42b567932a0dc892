"""An offer for a person with a calendar is an event: a yes creates it once in a real
Radicale (through the durable action path, the action's key as its UID), and the person's
event reminders then cover it at once."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import datetime
from pathlib import Path

import pytest

from core.actions.model import ActionKey
from core.events import Decision
from core.memory.service import MemorySettings
from core.schedule.model import Kind
from tests.calendar.radicale import Radicale
from tests.calendar.test_caldav import LISBON, calendar_core, owner
from tests.calendar.test_caldav_write import stored
from tests.core.harness import message
from tests.core.tools.harness import ToolCore
from tests.fakes.llm import FakeLLM

__all__ = ["owner"]


@pytest.fixture
async def core(tmp_path: Path, radicale: Radicale, owner: tuple[str, str], fake: FakeLLM,
               monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[ToolCore]:
    async with calendar_core(tmp_path, radicale, owner, fake.url, monkeypatch,
                             memory=MemorySettings(learn=True, every_turns=1)) as core:
        yield core


async def test_a_yes_to_an_event_offer_creates_the_event_once(
        core: ToolCore, fake: FakeLLM, radicale: Radicale, owner: tuple[str, str]) -> None:
    await core.send(message("a", 1, "/prefs event_reminder 15"))
    fake.script(["OK.", json.dumps({"memories": [], "commitments": [
        {"what": "Dentist", "when": "2027-03-30T15:00", "kind": "event", "message": 1}]})])
    await core.send(message("a", 2, "dentist tomorrow at 3"))
    await core.agent.learner.idle()
    await core.scheduler.tick()
    await core.dispatcher.join()
    offer = core.channel.replies[-1]
    assert offer.text == ("You said “dentist tomorrow at 3”. Shall I put it on your "
                          "calendar: Dentist, Tuesday 30 March, 15:00 Lisbon time? "
                          "(yes or no)")
    assert not [u for u in stored(radicale, owner) if u.startswith("kith-")]  # not yet
    action = await core.store.actions.get(ActionKey(offer.inbound.id, 0))
    assert action is not None and action.tool == "create_event"
    for n in (3, 4):  # the tap, and a second tap: one event
        await core.send(message("a", n, "", decision=Decision(action.id, True)))
    assert core.channel.replies[-2].text.startswith(
        "Added to your calendar: Dentist, Tue 30 Mar 15:00–16:00.")
    [uid] = [u for u in stored(radicale, owner) if u.startswith("kith-")]
    event = next(iter(stored(radicale, owner)[uid].walk("VEVENT")))
    assert event["DTSTART"].dt == datetime(2027, 3, 30, 15, 0, tzinfo=LISBON)
    person = await core.person("user-a")
    assert ("Dentist at 15:00", datetime(2027, 3, 30, 14, 45, tzinfo=LISBON)) in {
        (s.text, s.due_at) for s in await core.store.schedule.for_person(person, Kind.EVENT)}
    assert len(fake.chat_requests) == 2  # the reply and the extraction
