"""An offer on Telegram, end to end over HTTP (fake Bot API ⇄ Kith's webhook ⇄ a strict
scripted model): the one extraction after a quiet conversation returns a dated commitment;
Kith sends one offer with Yes / No inline buttons (nothing created yet); the person's Yes
sets the reminder — with no model request beyond the reply and the extraction."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from core.events import Sender
from core.schedule.model import Kind
from tests.adapters.telegram.rig import OWNER, RigFactory, fixture
from tests.adapters.telegram.test_tg_approvals import ANA, button

QUIET = {"learn": True, "quiet_seconds": 0.2}  # what a user gets, with a short quiet time


async def test_one_offer_with_buttons_and_a_yes_sets_the_reminder(
        telegram_rig: RigFactory) -> None:
    day = (datetime.now(UTC) + timedelta(days=2)).date()
    async with telegram_rig(memory=QUIET) as rig:
        rig.llm.strict = True
        rig.llm.script(["OK.", json.dumps({"memories": [], "commitments": [
            {"what": "Dentist", "when": f"{day}T15:00", "kind": "event", "message": 1}]})])
        update = fixture("private_text")
        update["message"]["text"] = f"dentist on {day:%A} at 3"
        await rig.send(update)
        await rig.bot_api.wait_for(lambda api: any(
            s.reply_markup for s in api.sent_to(OWNER)))  # the scheduler sent the offer
        *_, offer, controls = rig.bot_api.sent_to(OWNER)
        assert offer.text.startswith(f"You said “dentist on {day:%A} at 3”. Shall I remind "
                                     "you: Dentist")
        assert controls.text.startswith("Do this? remind you: Dentist")
        store = rig.kith.store
        person = await store.person_for("telegram", Sender(str(OWNER)))
        assert await store.schedule.for_person(person, Kind.REMINDER) == []  # not yet
        await rig.send(rig.bot_api.press(controls, ANA, button(controls, True)))
        assert rig.bot_api.chat_texts(OWNER)[-1].startswith("Reminder set: Dentist")
        [reminder] = await store.schedule.for_person(person, Kind.REMINDER)
        assert reminder.due_at == datetime.combine(day, datetime.min.time(), UTC) \
            + timedelta(hours=14, minutes=30)
        assert len(rig.llm.chat_requests) == 2  # the reply and the extraction, no more
        assert rig.llm.unexpected == 0 and rig.llm.unconsumed == 0
        assert sum(1 for s in rig.bot_api.sent_to(OWNER) if s.reply_markup) == 1  # once
