"""Telegram delivery (issue 10): 5xx on sendMessage, the undeliverable horizon, forum topics
the bot created, and resume-before-consume at start-up."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client import REGISTRY

from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.store.base import InboxStatus
from core.store.sqlite import SQLiteStore
from tests.adapters.telegram.rig import (
    GROUP,
    OWNER,
    SECRET,
    RigFactory,
    bot_toml,
    fixture,
    turns,
)
from tests.fakes.llm import FakeLLM, Fault
from tests.fakes.telegram import TOKEN, FakeBotAPI, running_fake_bot_api
from tests.support import make_settings, running_kith, write_bot


def undeliverable() -> float:
    return REGISTRY.get_sample_value("kith_undeliverable_total", {"channel": "telegram"}) or 0.0


async def test_sendmessage_failing_with_5xx_three_times_still_gives_one_reply(
        telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        rig.llm.reply = "Here you are."
        rig.bot_api.inject("sendMessage", 502, times=3)
        await rig.send(fixture("private_text"))
        sent = rig.bot_api.sent_to(OWNER)
        status = await rig.kith.store.inbox_status("telegram:kith:1001:11")
    assert [s.text for s in sent] == ["Here you are."]
    assert len(turns(rig)) == 1  # no second model call
    assert status is InboxStatus.DELIVERED


async def test_a_reply_the_bot_api_refuses_past_the_horizon_is_undeliverable(
        telegram_rig: RigFactory) -> None:
    before = undeliverable()
    delivery = {"give_up_after": 1.5, "retry_min": 0.2, "retry_max": 0.5}
    async with telegram_rig(extra="max_attempts = 2", delivery=delivery) as rig:
        rig.llm.reply = "You will never see this."
        rig.bot_api.inject("sendMessage", 500, times=10_000)
        await rig.send(fixture("private_text"))
        state = await rig.kith.store.delivery("telegram:kith:1001:11")
        attempts = len([c for c in rig.bot_api.calls if c.method == "sendMessage"])
    assert state is not None and state.status is InboxStatus.UNDELIVERABLE
    assert state.reply == "You will never see this."  # kept, for the record
    assert undeliverable() == before + 1
    assert attempts >= 4 and len(turns(rig)) == 1  # re-delivered, never re-asked


async def test_in_a_topic_the_bot_created_only_addressed_messages_are_answered(
        telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        rig.llm.reply = None  # echo
        await rig.send(fixture("topic_plain_bot_created"))
        assert rig.bot_api.sent_to(GROUP) == [] and turns(rig) == []
        await rig.send(fixture("topic_mention_bot_created"))
        sent = rig.bot_api.sent_to(GROUP)
        send = rig.bot_api.calls_to("sendMessage")[-1].params
    assert len(sent) == 1 and "which week is best" in sent[0].text
    assert send["message_thread_id"] == 300  # answered in the topic


async def test_a_pending_message_is_answered_before_a_newer_one_from_polling(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], monkeypatch: pytest.MonkeyPatch) -> None:
    """Two bots share the process; while the second starts (Bot API calls), the first one's
    poller already has the newer message. The older, pending one must still come first."""
    monkeypatch.setenv("TG_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("TG_TEST_SECRET", SECRET)
    llm, llm_url = fake_llm
    llm.reply = None  # echo
    settings = make_settings(tmp_path, llm_url)
    store = SQLiteStore(settings.data_dir / "kith.sqlite3")
    await store.open()
    await store.record_inbound(Inbound(  # recorded before the restart, never answered
        id="telegram:kith:1001:5", conversation=ConversationKey("kith", "telegram", "1001"),
        sender=Sender("1001", "Ana Silva"), text="first, from before the restart",
        trust=Trust.OWNER, addressed=Addressed.DIRECT, chat=ChatKind.DIRECT))
    await store.close()
    api = FakeBotAPI()
    async with running_fake_bot_api(api) as base_url:
        await api.push(fixture("private_text"))  # message 11, waiting in getUpdates
        toml = bot_toml(base_url, "polling", "edit_interval = 0")
        write_bot(tmp_path / "bots", "kith", toml)
        write_bot(tmp_path / "bots", "kith2", toml, persona="You are the second bot.")
        async with running_kith(settings) as kith:
            await api.wait_for(lambda a: len(a.sent_to(OWNER)) >= 2)
            await kith.dispatcher.join()
    first_bot = [r["messages"][-1]["content"] for r in llm.chat_requests
                 if "second bot" not in r["messages"][0]["content"]]
    assert [m.rsplit("\n", 1)[-1] for m in first_bot] == [
        "first, from before the restart", "Hello Kith, how are you?"]


async def test_no_model_then_back_the_notice_stays_and_the_answer_is_a_new_message(
        telegram_rig: RigFactory) -> None:
    delivery = {"retry_min": 0.2, "retry_max": 0.4}
    async with telegram_rig(delivery=delivery) as rig:
        rig.llm.fail_all = Fault.status(503)
        rig.llm.reply = "Back, and here is your answer."
        await rig.bot_api.push(fixture("private_text"))
        await rig.bot_api.wait_for(lambda a: bool(a.sent_to(OWNER)))
        rig.llm.fail_all = None
        await rig.kith.dispatcher.join()
        shown = [s.text for s in rig.bot_api.sent_to(OWNER)]
    assert len(shown) == 2 and "can't reach my language model" in shown[0]
    assert "an hour" in shown[0]
    assert shown[1] == "Back, and here is your answer."
    assert len(rig.bot_api.calls_to("sendMessage")) == 2
