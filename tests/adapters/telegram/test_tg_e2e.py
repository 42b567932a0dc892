"""End to end over HTTP: fake Bot API ⇄ Kith (webhook via the gateway, or polling) ⇄ fake LLM."""

from __future__ import annotations

import itertools
import re
import time

import httpx
import pytest

from core.commands import COMMANDS
from core.events import ConversationKey
from tests.adapters.telegram.rig import (
    FRIEND,
    GROUP,
    OWNER,
    SECRET,
    STRANGER,
    RigFactory,
    fixture,
    turns,
)
from tests.fakes.telegram import TOKEN

REPLY = "Hello Ana! " + " ".join(f"word{i}" for i in range(30)) + "."


async def test_private_message_streams_a_reply_once(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        api = rig.bot_api
        assert api.webhook["url"] == "https://kith.example/hooks/kith/telegram"
        assert api.webhook["secret_token"] == SECRET
        assert {c["command"] for c in api.commands} == set(COMMANDS)
        rig.llm.reply, rig.llm.itl = REPLY, 0.01
        update = fixture("private_text")
        await rig.send(update)
        assert api.chat_texts(OWNER) == [REPLY]
        methods = [c.method for c in api.calls if c.params.get("chat_id") == OWNER]
        assert methods[0] == "sendChatAction"
        assert methods.count("sendMessage") == 1
        assert methods.index("sendMessage") < methods.index("editMessageText")
        first = api.calls_to("sendMessage")[0].params["text"]
        assert len(first) < len(REPLY)  # the first message showed a prefix, then grew
        assert "Hello Kith, how are you?" in str(turns(rig)[-1]["messages"])
        # Telegram retries the webhook, and the person edits the message: no new answer.
        await rig.send(update)
        await rig.send(fixture("edited_message"))
        assert len(turns(rig)) == 1
        assert len(api.calls_to("sendMessage")) == 1


async def test_edits_are_throttled_per_chat(telegram_rig: RigFactory) -> None:
    async with telegram_rig(extra="edit_interval = 0.25") as rig:
        rig.llm.reply, rig.llm.itl = REPLY, 0.02  # ~0.6 s of streaming
        await rig.send(fixture("private_text"))
        times = [c.at for c in rig.bot_api.calls
                 if c.method in ("sendMessage", "editMessageText")]
        assert 2 <= len(times) <= 5  # not one edit per token
        assert min(b - a for a, b in itertools.pairwise(times)) >= 0.15


async def test_webhook_refuses_bad_requests_and_records_nothing(
        telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        url = f"{rig.gateway}/hooks/kith/telegram"
        update = fixture("private_text")
        assert await rig.bot_api.post_webhook(update, secret="wrong") == 403
        async with httpx.AsyncClient() as client:
            assert (await client.post(url, json=update)).status_code == 403
            assert (await client.get(url)).status_code == 405
            bad = await client.post(url, content=b"{not json",
                                    headers={"x-telegram-bot-api-secret-token": SECRET})
            assert bad.status_code == 400
        assert await rig.kith.store.inbox_status("telegram:kith:1001:11") is None
        assert turns(rig) == []
        assert rig.bot_api.calls_to("sendMessage") == []


async def test_group_answers_exactly_the_addressed_messages(telegram_rig: RigFactory) -> None:
    async with telegram_rig(extra="group_context = true") as rig:
        rig.llm.reply = None  # echo: "You said: ..."
        table = {
            "group_plain": False, "group_other_bot": False, "group_command_other_bot": False,
            "group_bare_command": False, "group_mention": True, "group_mention_case": True,
            "group_text_mention": True, "group_reply_to_bot": True, "group_command_at_bot": True,
        }
        for name in table:
            await rig.send(fixture(name))
        answered = {s.reply_to for s in rig.bot_api.sent_to(GROUP)}
        expected = {fixture(n)["message"]["message_id"] for n, yes in table.items() if yes}
        assert answered == expected
        assert len(rig.bot_api.sent_to(GROUP)) == len(expected)
        assert len(turns(rig)) == 4  # /help@bot is answered by the core
        help_reply = next(s for s in rig.bot_api.sent_to(GROUP) if s.reply_to == 205)
        assert "/reset" in help_reply.text
        # group_context = true: the un-addressed message was kept as context for the next turn
        prompt = str(turns(rig)[0]["messages"])
        assert "Dinner at eight?" in prompt
        typing = [c for c in rig.bot_api.calls_to("sendChatAction")]
        assert len(typing) <= len(expected)


async def test_unknown_user_gets_only_a_pairing_prompt(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        api = rig.bot_api
        first = fixture("private_stranger")
        await rig.send(first)
        again = fixture("private_stranger")
        again["update_id"], again["message"]["message_id"] = 20001, 6
        await rig.send(again)
        texts = api.chat_texts(STRANGER)
        assert len(texts) == 1 and "code" in texts[0]
        assert [c for c in api.calls if c.params.get("chat_id") == STRANGER
                and c.method != "sendMessage"] == []
        assert turns(rig) == []
        code = re.findall(r"\b[A-Z0-9]{4,}\b", texts[0])[-1]
        approve = fixture("private_text")
        approve["update_id"], approve["message"]["message_id"] = 20002, 30
        approve["message"]["text"] = f"/approve {code}"
        await rig.send(approve)
        assert "Approved" in api.chat_texts(OWNER)[-1]
        later = fixture("private_stranger")
        later["update_id"], later["message"]["message_id"] = 20003, 7
        await rig.send(later)
        assert len(turns(rig)) == 1
        assert len(api.chat_texts(STRANGER)) == 2


async def test_429_storm_and_5xx_delay_but_lose_nothing(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        api = rig.bot_api
        rig.llm.reply, rig.llm.itl = REPLY, 0.1  # still streaming after the first send
        api.inject("sendMessage", 429, retry_after=1)
        api.inject("sendMessage", 502, "Bad Gateway")
        api.inject("editMessageText", 429, retry_after=1, times=2)
        api.inject("editMessageText", 500)
        started = time.monotonic()
        await rig.send(fixture("private_text"))
        assert api.chat_texts(OWNER) == [REPLY]
        assert [c.status for c in api.calls if c.method == "sendMessage"] == [429, 502, 200]
        assert sum(c.status == 429 for c in api.calls) == 3
        assert time.monotonic() - started >= 2.0  # every retry_after was waited out


async def test_ten_thousand_characters_arrive_as_several_messages(
        telegram_rig: RigFactory) -> None:
    paragraphs = [f"Paragraph {i}: " + " ".join(["All work and no play."] * 20) for i in range(24)]
    long = "\n\n".join(paragraphs)
    assert len(long) > 10_000
    async with telegram_rig() as rig:
        rig.llm.reply, rig.llm.itl = long, 0.0
        await rig.send(fixture("private_text"))
        texts = rig.bot_api.chat_texts(OWNER)
        assert len(texts) >= 3
        assert all(0 < len(t) <= 4096 for t in texts)
        assert all(t.startswith("Paragraph ") and t.endswith("play.") for t in texts)
        assert "\n\n".join(texts) == long


async def test_malformed_markup_still_reaches_the_person(telegram_rig: RigFactory) -> None:
    messy = "**bold <b>unclosed & [link](javascript:alert(1)) `code <i>"
    async with telegram_rig() as rig:
        api = rig.bot_api
        rig.llm.reply = messy
        await rig.send(fixture("private_text"))
        shown = api.chat_texts(OWNER)[-1]
        assert shown == messy  # nothing lost, nothing interpreted as markup
        assert api.sent_to(OWNER)[-1].parse_mode == "HTML"
        rig.llm.reply = "**Bold** and `x<y` & [docs](https://example.org)"
        tidy = fixture("private_text")
        tidy["update_id"], tidy["message"]["message_id"] = 30000, 39
        await rig.send(tidy)
        assert api.chat_texts(OWNER)[-1] == "Bold and x<y & docs"
        assert "<b>Bold</b>" in api.sent_to(OWNER)[-1].raw
        # And when Telegram rejects the markup anyway, the plain text goes out.
        api.inject("sendMessage", 400, "Bad Request: can't parse entities: Unsupported start "
                   'tag "x" at byte offset 0')
        rig.llm.reply = "Plain **fallback** text"
        second = fixture("private_text")
        second["update_id"], second["message"]["message_id"] = 30001, 40
        await rig.send(second)
        assert api.chat_texts(OWNER)[-1] == "Plain **fallback** text"
        assert api.sent_to(OWNER)[-1].parse_mode is None


async def test_polling_mode_answers_each_update_once(telegram_rig: RigFactory) -> None:
    async with telegram_rig(mode="polling") as rig:
        api = rig.bot_api
        assert api.calls_to("deleteWebhook") and not api.webhook
        rig.llm.reply = "Polled hello"
        api.inject("getUpdates", 502, "Bad Gateway")  # the poller backs off and goes on
        update = fixture("private_text")
        await rig.send(update)
        assert api.chat_texts(OWNER) == ["Polled hello"]
        again = fixture("private_text")
        again["update_id"] = 10_002  # the same message, re-delivered in a new update
        await rig.send(again)
        await rig.send(fixture("group_mention"))
        assert len(turns(rig)) == 2
        assert api.sent_to(GROUP)[0].reply_to == 201
        assert any(c.method == "getUpdates" and c.status == 502 for c in api.calls)


async def test_unknown_group_is_told_once_and_left(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        api = rig.bot_api
        await rig.send(fixture("bot_added_unknown_group"))
        await rig.send(fixture("bot_added_unknown_group") | {"update_id": 40001})  # re-added
        await rig.send(fixture("group_unknown_chat"))
        assert len(api.chat_texts(-1009999)) == 1
        assert "-1009999" in api.chat_texts(-1009999)[0]
        assert api.left == [-1009999, -1009999]
        assert turns(rig) == []
    async with telegram_rig() as rig:  # after a restart: still told only once
        await rig.send(fixture("bot_added_unknown_group") | {"update_id": 40002})
        assert rig.bot_api.chat_texts(-1009999) == [] and rig.bot_api.left == [-1009999]


async def test_unknown_group_silent_mode(telegram_rig: RigFactory) -> None:
    async with telegram_rig(extra='unknown_group = "silent"') as rig:
        await rig.send(fixture("bot_added_unknown_group"))
        await rig.send(fixture("group_unknown_chat"))
        assert [c.method for c in rig.bot_api.calls] == [
            "getMe", "setMyCommands", "setWebhook"]


async def test_ignored_updates_send_nothing(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        for name in ("sticker", "service_new_members", "service_left_member", "service_migrate",
                     "service_migrate_from", "channel_post", "bot_removed",
                     "unknown_update_type", "group_plain"):
            await rig.send(fixture(name))
        assert turns(rig) == []
        assert [c.method for c in rig.bot_api.calls] == [
            "getMe", "setMyCommands", "setWebhook"]


async def test_attachments_are_fetched_lazily(telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        rig.bot_api.files["documents/BQACAgQdoc1.bin"] = b"pdf"
        update = fixture("document")
        inbound_id = f"telegram:kith:{OWNER}:{update['message']['message_id']}"
        await rig.send(update)
        assert await rig.kith.store.inbox_status(inbound_id) is not None
        assert not rig.bot_api.calls_to("getFile")  # nothing downloaded until asked
        from core.events import Attachment
        fetched = await rig.channel.fetch_media(Attachment("document", "BQACAgQdoc1"), 10**6)
        assert fetched.data == b"pdf"
        assert FRIEND != OWNER


async def test_a_reply_the_bot_api_refused_is_delivered_again_from_the_store(
        telegram_rig: RigFactory, capsys: pytest.CaptureFixture[str]) -> None:
    async with telegram_rig(extra="max_attempts = 2") as rig:
        rig.llm.reply, rig.llm.itl = REPLY, 0.03  # still streaming when delivery gives up
        rig.bot_api.inject("sendMessage", 502, "Bad Gateway", times=2)
        update = fixture("private_text")
        await rig.send(update)
        assert rig.bot_api.chat_texts(OWNER) == [REPLY]  # once, re-delivered by the core
        assert len(turns(rig)) == 1  # without asking the model again
        key = ConversationKey("kith", "telegram", str(OWNER))
        history = await rig.kith.store.history(key, 0, 10)
        assert [t.text for t in history if t.role == "assistant"] == [REPLY]
        logged = capsys.readouterr()
        line = next(x for x in (logged.out + logged.err).splitlines()
                    if "telegram_not_delivered" in x)
        assert "kith/telegram/1001" in line and TOKEN not in logged.out + logged.err
        assert "redelivered" in logged.out + logged.err
        # A later message is delivered normally.
        later = fixture("private_text")
        later["update_id"], later["message"]["message_id"] = 50001, 60
        await rig.send(later)
        assert rig.bot_api.chat_texts(OWNER) == [REPLY, REPLY]
