"""Approval with Telegram's own controls, end to end over HTTP (fake Bot API speaking the
real wire format ⇄ Kith via its webhook ⇄ fake LLM), in the default configuration: a side
effect asked for by a forwarded message is proposed with Yes / No inline buttons; the
person's press does it once; a second press, a replayed callback, a No, and another group
member's press do nothing more."""

from __future__ import annotations

from typing import Any

from core.events import Sender
from core.schedule.model import Kind
from core.tools.approvals import NOT_WAITING
from tests.adapters.telegram.rig import GROUP, OWNER, RigFactory, TelegramRig, fixture
from tests.fakes.telegram import Sent

WHEN = "2099-01-01T09:00:00+00:00"
ANA = {"id": OWNER, "is_bot": False, "first_name": "Ana", "last_name": "Silva"}
BEN = {"id": 1002, "is_bot": False, "first_name": "Ben"}


async def reminders(rig: TelegramRig, platform_id: int = OWNER) -> list[str]:
    store = rig.kith.store
    person = await store.person_for("telegram", Sender(str(platform_id)))
    return [s.text for s in await store.schedule.for_person(person, Kind.REMINDER)]


async def propose(rig: TelegramRig, update: dict[str, Any], chat: int) -> Sent:
    rig.llm.script_tool_call("create_reminder", {"text": "pay Ben", "when": WHEN})
    rig.llm.script(["I've asked you first."])
    await rig.send(update)
    *_, controls = rig.bot_api.sent_to(chat)
    assert controls.text.startswith("Do this? create reminder (text: pay Ben")
    return controls


def button(controls: Sent, approve: bool) -> str:
    [[yes, no]] = (controls.reply_markup or {})["inline_keyboard"]
    assert (yes["text"], no["text"]) == ("Yes, do it", "No")
    return str((yes if approve else no)["callback_data"])


async def test_yes_does_it_once(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        controls = await propose(rig, fixture("forwarded"), OWNER)
        shown = rig.bot_api.chat_texts(OWNER)
        assert shown[-2].startswith("I haven't done this: create reminder (text: pay Ben")
        assert await reminders(rig) == []
        press = rig.bot_api.press(controls, ANA, button(controls, True))
        await rig.send(press)
        done = rig.bot_api.chat_texts(OWNER)[-1]
        assert done.startswith("Reminder set: pay Ben") and "Undo: /reminders cancel r" in done
        assert await reminders(rig) == ["pay Ben"]
        assert list(rig.bot_api.answered) == [press["callback_query"]["id"]]
        count = len(rig.bot_api.chat_texts(OWNER))
        await rig.send(dict(press))  # Telegram replays the same callback: dropped
        assert len(rig.bot_api.chat_texts(OWNER)) == count
        await rig.send(rig.bot_api.press(controls, ANA, button(controls, True)))  # again
        assert rig.bot_api.chat_texts(OWNER)[-1] == NOT_WAITING
        await rig.send(rig.bot_api.press(controls, ANA, button(controls, False)))  # too late
        assert rig.bot_api.chat_texts(OWNER)[-1] == NOT_WAITING
        assert await reminders(rig) == ["pay Ben"]


async def test_no_does_nothing(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        controls = await propose(rig, fixture("forwarded"), OWNER)
        await rig.send(rig.bot_api.press(controls, ANA, button(controls, False)))
        assert rig.bot_api.chat_texts(OWNER)[-1].startswith("OK, I won't: create reminder")
        await rig.send(rig.bot_api.press(controls, ANA, button(controls, True)))
        assert rig.bot_api.chat_texts(OWNER)[-1] == NOT_WAITING
        assert await reminders(rig) == []


async def test_another_group_member_cannot_approve(telegram_rig: RigFactory) -> None:
    update = fixture("group_mention")  # Ben asks in the group, quoting a forward
    message = update["message"]
    message["text"] = "@kith_test_bot what about this?"
    message["forward_origin"] = {"type": "hidden_user", "sender_user_name": "Mallory",
                                 "date": 1764140400}
    async with telegram_rig() as rig:
        controls = await propose(rig, update, GROUP)
        await rig.send(rig.bot_api.press(controls, ANA, button(controls, True)))  # not Ana's
        assert rig.bot_api.chat_texts(GROUP)[-1] == NOT_WAITING
        assert await reminders(rig, 1002) == [] and await reminders(rig) == []
        await rig.send(rig.bot_api.press(controls, BEN, button(controls, True)))  # Ben's own
        assert rig.bot_api.chat_texts(GROUP)[-1].startswith("Reminder set: pay Ben")
        assert await reminders(rig, 1002) == ["pay Ben"]
