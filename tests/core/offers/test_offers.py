"""Offers from the batched extraction (issue 25, test 5), through the real agent, store,
dispatcher and scheduler around a strict scripted model (it fails on any call it was not
given and on any answer left unconsumed).

The one extraction call per quiet conversation also returns dated commitments; Kith offers
a reminder for each once, with the platform's yes/no controls (the proposed action each
channel draws buttons for), creates it only on a yes, stops offering a kind declined three
times, holds offers through quiet hours, offers nothing from a forwarded message, and makes
no model request of its own.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from core.actions.model import Action, ActionKey, State
from core.events import ConversationKey, Decision, Origin, Quoted, Sender
from core.memory.service import MemorySettings
from core.offers.model import OfferKind, OfferState
from core.schedule.model import Kind
from tests.core.harness import message
from tests.core.tools.harness import ToolCore, tool_core
from tests.fakes.llm import FakeLLM

NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)  # Tuesday; Lisbon is on UTC in winter
LEARNING = MemorySettings(learn=True, every_turns=1)  # extract after each answered turn
_n = iter(range(1, 10**6))


def extraction(*commitments: dict[str, Any]) -> str:
    return json.dumps({"memories": [], "commitments": list(commitments)})


def commitment(what: str, when: str, kind: str = "reminder", message: int = 1
               ) -> dict[str, Any]:
    return {"what": what, "when": when, "kind": kind, "message": message}


@pytest.fixture
async def core(tmp_path: Path, fake: FakeLLM) -> AsyncIterator[ToolCore]:
    assert fake.base_url
    async with tool_core(tmp_path / "kith.db", fake.base_url, now=NOW, memory=LEARNING) as core:
        yield core


async def say(core: ToolCore, fake: FakeLLM, text: str, answer: str, **kw: Any) -> str:
    """One turn (the model answers "OK.") and the extraction it is followed by."""
    fake.script(["OK.", answer])
    reply = await core.send(message("a", next(_n), text, **kw))
    await core.agent.learner.idle()
    return reply


async def due(core: ToolCore) -> list[str]:
    """Run the scheduler once at the clock's time; the replies it caused."""
    before = len(core.channel.replies)
    await core.scheduler.tick()
    await core.dispatcher.join()
    return [d.text for d in core.channel.replies[before:] if d.text]


async def offered(core: ToolCore, waiting: bool = False) -> list[Action]:
    """The actions sent with an offer (``waiting``: those still open, which each channel
    draws its yes/no controls for, as it does for any proposal)."""
    found = []
    for d in core.channel.replies:
        if d.inbound.scheduled is None or d.inbound.scheduled.kind != Kind.OFFER.value:
            continue
        if waiting:
            found += await core.store.actions.made_by(d.inbound.id)
        elif (action := await core.store.actions.get(ActionKey(d.inbound.id, 0))):
            found.append(action)
    return found


async def press(core: ToolCore, action: Action, approve: bool) -> str:
    """The person taps Yes or No under the offer (a platform control's Decision)."""
    return await core.send(message("a", next(_n), "", decision=Decision(action.id, approve)))


async def test_a_dated_commitment_makes_one_offer_and_a_yes_makes_one_reminder(
        core: ToolCore, fake: FakeLLM) -> None:
    await say(core, fake, "dentist Friday at 3",
              extraction(commitment("Dentist", "2026-12-04T15:00", "event")))
    assert len(fake.chat_requests) == 2  # the turn and the one extraction: nothing more
    assert await core.reminders() == []  # never created silently
    [text] = await due(core)
    assert text.startswith("You said “dentist Friday at 3”. Shall I remind you: Dentist, "
                           "Friday 4 December, 14:30 Lisbon time?")
    [action] = await offered(core, waiting=True)  # one proposal: yes/no under the offer
    assert (action.tool, action.state) == ("create_reminder", State.PROPOSED)
    assert await due(core) == []  # offered once
    said = await press(core, action, True)
    assert said.startswith("Reminder set: Dentist — Friday 4 December, 14:30")
    [reminder] = await core.reminders()
    assert reminder.due_at == datetime(2026, 12, 4, 14, 30, tzinfo=UTC)
    assert len(fake.chat_requests) == 2  # the offer and its answer cost no model call
    await press(core, action, True)  # a double tap: that answer stands, still one
    assert len(await core.reminders()) == 1


async def test_a_kind_declined_three_times_is_not_offered_again(
        core: ToolCore, fake: FakeLLM) -> None:
    person = await core.person()
    for day, what in enumerate(["Call the bank", "Pay rent", "Water plants"]):
        core.clock.now = NOW + timedelta(days=day)  # a day each: the daily limit is apart
        when = f"{(core.clock.now + timedelta(days=1)):%Y-%m-%d}T12:00"
        await say(core, fake, f"{what.lower()} tomorrow at noon",
                  extraction(commitment(what, when)))
        [text] = await due(core)
        assert what in text
        action = (await offered(core))[-1]
        assert (await press(core, action, False)).startswith("OK, I won't")
    assert await core.store.offers.declined(person, OfferKind.REMINDER) == 3
    core.clock.now = NOW + timedelta(days=3)
    await say(core, fake, "dentist tomorrow at 9",
              extraction(commitment("Dentist", f"{NOW + timedelta(days=4):%Y-%m-%d}T09:00")))
    assert await due(core) == []  # the fourth is dropped when due: nothing sent
    assert len(await offered(core)) == 3
    assert await core.reminders() == []


async def test_nothing_is_offered_from_a_forwarded_message(
        core: ToolCore, fake: FakeLLM) -> None:
    forwarded = (Quoted(origin=Origin.FORWARDED_MESSAGE, text="Dentist Friday at 3, be early",
                        author="Clinic"),)
    # the scripted model claims the forward's plan anyway: its message is not the person's
    await say(core, fake, "fyi", extraction(commitment("Dentist", "2026-12-04T15:00",
                                                       "event")), quoted=forwarded)
    assert len(fake.chat_requests) == 2
    assert await core.store.schedule.for_person(await core.person(), Kind.OFFER) == []
    assert await due(core) == []
    assert await offered(core) == []


async def test_quiet_hours_hold_an_offer_until_they_end(
        core: ToolCore, fake: FakeLLM) -> None:
    assert "22:00-07:30" in await core.send(message("a", next(_n), "/prefs quiet 22:00-07:30"))
    core.clock.now = datetime(2026, 12, 1, 23, 0, tzinfo=UTC)  # 23:00 in Lisbon
    await say(core, fake, "I'll send my sister the report tomorrow at 11",
              extraction(commitment("Send the report to my sister", "2026-12-02T11:00")))
    assert await due(core) == []  # quiet: nothing sent at 23:00
    core.clock.now = datetime(2026, 12, 2, 7, 29, tzinfo=UTC)
    assert await due(core) == []
    core.clock.now = datetime(2026, 12, 2, 7, 30, tzinfo=UTC)
    [text] = await due(core)
    assert "Shall I remind you: Send the report to my sister, Wednesday 2 December, 11:00" \
        in text
    assert len(await offered(core)) == 1


async def test_one_commitment_is_offered_once_and_at_most_three_a_day(
        core: ToolCore, fake: FakeLLM) -> None:
    dentist = commitment("Dentist", "2026-12-04T15:00", "event")
    await say(core, fake, "dentist Friday at 3", extraction(dentist))
    await say(core, fake, "remember, the dentist on Friday at 3",
              extraction(replace_what(dentist, "Dentist appointment")))  # the same plan
    assert len(await due(core)) == 1
    plans = [commitment(f"Task {n}", f"2026-12-0{n + 2}T10:00") for n in range(1, 5)]
    await say(core, fake, "busy days ahead", extraction(*plans))
    assert len(await due(core)) == 2  # three a day, the dentist's included
    person = await core.person()
    assert await core.store.offers.offered_between(
        person, NOW - timedelta(hours=10), NOW + timedelta(hours=14)) == 3


async def test_a_time_already_past_is_not_offered(core: ToolCore, fake: FakeLLM) -> None:
    await say(core, fake, "I had the dentist this morning at 9",
              extraction(commitment("Dentist", "2026-12-01T09:00", "event")))
    assert states(core) == []  # past when extracted: not even kept
    # kept while still ahead, but due only after its time (quiet hours, a busy queue)
    await say(core, fake, "call mum at 10:30",
              extraction(commitment("Call mum", "2026-12-01T10:30")))
    core.clock.now = datetime(2026, 12, 1, 10, 31, tzinfo=UTC)
    assert await due(core) == []
    assert states(core) == [OfferState.DROPPED.value]
    assert await offered(core) == []


def states(core: ToolCore) -> list[str]:
    return [str(r[0]) for r in core.store.db.execute("SELECT state FROM offers")]


@pytest.mark.parametrize("offers", [True, False])
async def test_model_requests_are_the_same_with_offers_on_and_off(
        tmp_path: Path, fake: FakeLLM, offers: bool) -> None:
    assert fake.base_url
    async with tool_core(tmp_path / "kith.db", fake.base_url, now=NOW,
                         memory=replace(LEARNING, offers=offers)) as core:
        await say(core, fake, "dentist Friday at 3",
                  extraction(commitment("Dentist", "2026-12-04T15:00", "event")))
        sent = await due(core)
        assert len(fake.chat_requests) == 2  # one reply, one extraction, either way
        assert len(sent) == (1 if offers else 0)


def replace_what(item: dict[str, Any], what: str) -> dict[str, Any]:
    return {**item, "what": what}


async def test_the_offer_preferences_say_what_is_wrong_and_show_in_prefs(
        core: ToolCore) -> None:
    async def prefs(text: str) -> str:
        return await core.send(message("a", next(_n), text))
    assert await prefs("/prefs quiet 25:00-07:00") == "use a time of day like 07:30."
    assert await prefs("/prefs quiet 22:00") == "use a span of local time like 22:00-07:30."
    assert (await prefs("/prefs quiet 22:00-7:30")).startswith("Quiet hours 22:00-07:30 ")
    assert "- quiet: 22:00-07:30" in await prefs("/prefs")
    assert (await prefs("/prefs event_reminder soon")).startswith(
        "/prefs event_reminder MINUTES (1 to 1440)")
    assert await prefs("/prefs event_reminder 15") == (
        "You have no calendar I can read, so I can't remind you of its events.")
    assert await prefs("/prefs quiet off") == "No quiet hours: offers come when I have them."
    assert "quiet" not in (await prefs("/prefs")).split("Set one")[0]


async def test_quiet_hours_set_after_an_offer_was_kept_still_hold_it(
        core: ToolCore, fake: FakeLLM) -> None:
    await say(core, fake, "pay rent tomorrow at 12",
              extraction(commitment("Pay rent", "2026-12-02T12:00")))
    await core.send(message("a", next(_n), "/prefs quiet 09:30-11:00"))  # now is 10:00
    assert await due(core) == []
    core.clock.now = datetime(2026, 12, 1, 11, 0, tzinfo=UTC)
    [text] = await due(core)
    assert "Shall I remind you: Pay rent" in text


async def test_the_extraction_reads_the_persons_own_day(core: ToolCore, fake: FakeLLM) -> None:
    """Dates in what the person said are their days: at 10:00 UTC it is already tomorrow on
    Kiritimati (UTC+14), and "tomorrow" there is two UTC days ahead."""
    await core.send(message("a", next(_n), "/prefs timezone Pacific/Kiritimati"))
    await say(core, fake, "dentist tomorrow at 3", extraction())
    prompt = fake.requests[-1].json["messages"][-1]["content"]
    assert "Today is 2026-12-02 (Wednesday)." in prompt  # UTC says Tuesday 2026-12-01


async def test_an_offer_is_still_made_after_its_identity_is_linked_to_another(
        core: ToolCore, fake: FakeLLM) -> None:
    """Ana said it on the web before linking that identity to her first one: the offer
    and its scheduled turn follow her together, so it is made (once)."""
    ana = await core.person()
    code = await core.store.memories.create_link_code(ana, NOW, 600)
    web = {"conversation": ConversationKey("kith", "web", "w"),
           "sender": Sender("annie", "Ana")}
    fake.script(["OK.", extraction(commitment("Dentist", "2026-12-04T15:00", "event"))])
    await core.send(message("w", 1, "dentist Friday at 3", id="web:kith:w:1", **web))
    await core.agent.learner.idle()
    annie = await core.person("annie", "web")
    assert annie != ana
    assert (await core.store.memories.redeem_link_code(code, annie, NOW)).person_id == ana
    [text] = await due(core)
    assert text.startswith("You said “dentist Friday at 3”. Shall I remind you: Dentist")
    assert len(await offered(core, waiting=True)) == 1
    assert await due(core) == []  # offered once
