"""The Matrix channel against a real Synapse: E2EE DMs, rooms, mentions, threads, invites,
restarts and rate limits. The human side is a second nio client with its own store."""

from __future__ import annotations

import asyncio
import io
import stat
from pathlib import Path

import pytest
from nio import UploadResponse

from adapters.matrix.channel import MatrixChannel
from adapters.matrix.decode import RoomInfo, to_inbound
from adapters.matrix.intake import UNDECRYPTABLE
from tests.adapters.matrix.kit import (
    PASSWORD,
    PASSWORD_ENV,
    bot_toml,
    echo,
    human,
    new_message,
    running_bot,
    unique,
)
from tests.adapters.matrix.people import Human
from tests.adapters.matrix.synapse import Synapse
from tests.canary import assert_clean, debug_log
from tests.fakes.llm import FakeLLM

LOST_KEY = {"algorithm": "m.megolm.v1.aes-sha2", "sender_key": "c2VuZGVyIGtleSBvZiBhIGxvc3Q",
            "ciphertext": "AwgAEnACgAkLmt6qF84IK++J7UDH2Za1YVchHyprqTqsg", "device_id": "GONE",
            "session_id": "bG9zdCBzZXNzaW9uIHRoZSBib3QgbmV2ZXIgcmVjZWl2ZWQ"}


async def _send_file(person: Human, room_id: str, data: bytes) -> str:
    upload, keys = await person.client.upload(io.BytesIO(data), "text/plain", "notes.txt",
                                              encrypt=True, filesize=len(data))
    assert isinstance(upload, UploadResponse), upload
    assert keys is not None
    secret = {"url": upload.content_uri, "key": keys["key"], "iv": keys["iv"],
              "hashes": keys["hashes"], "v": keys["v"]}
    return await person.say(room_id, "what is in this file?", msgtype="m.file",
                            filename="notes.txt", file=secret,
                            info={"mimetype": "text/plain", "size": len(data)})


async def _synced_room(channel: MatrixChannel, room_id: str) -> None:
    while room_id not in channel.client.rooms:
        await channel.wait_batches(channel.batches + 1)


def _asked(fake: FakeLLM) -> list[str]:
    """The new message of every streamed (answering) model request, in order."""
    return [new_message(r) for r in fake.chat_requests if r.get("stream")]


async def _answer(person: Human, room_id: str, bot_id: str, text: str) -> str:
    """Wait until the bot's message in ``room_id`` shows ``text`` (edits applied)."""
    def found() -> str | None:
        return next((eid for eid, shown in person.shown(room_id, bot_id).items()
                     if shown == text), None)
    try:
        return str(await person.wait_for(found, 30))
    except TimeoutError:
        raise AssertionError(f"{text!r} not in {person.shown(room_id, bot_id)}") from None


async def test_encrypted_dm_streams_a_reply_the_human_decrypts_and_survives_restart(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.itl, fake.reply = 0.02, echo
    fake.script(["Hello **there**, this reply arrives in several streamed pieces."])
    bot_id = synapse.register(unique("bot"), PASSWORD)
    async with human(synapse, tmp_path, unique("alice")) as alice:
        toml = bot_toml(synapse, bot_id, [alice.user_id])
        async with running_bot(tmp_path, url, toml) as channel:
            device = channel.client.device_id
            room_id = await alice.create_room([bot_id], encrypted=True, direct=True)
            await alice.wait_joined(room_id, bot_id)
            await alice.say(room_id, "hi, secret question")
            event_id = await _answer(
                alice, room_id, bot_id,
                "Hello **there**, this reply arrives in several streamed pieces.")
            mine = alice.from_user(room_id, bot_id)
            assert all(s.decrypted for s in mine), "every bot event arrived encrypted"
            assert any((s.content.get("m.relates_to") or {}).get("rel_type") == "m.replace"
                       for s in mine), "the reply was streamed as edits"
            last = mine[-1].content
            assert last["m.relates_to"] == {"rel_type": "m.replace", "event_id": event_id}
            assert "<strong>there</strong>" in last["m.new_content"]["formatted_body"]
            assert _asked(fake)[-1].endswith("hi, secret question")
        # Offline now: the message waits on the server.
        await alice.say(room_id, "while you were away")
        async with running_bot(tmp_path, url, toml) as channel:
            assert channel.client.device_id == device, "same device after restart"
            await _answer(alice, room_id, bot_id, "You said: while you were away")
            await alice.say(room_id, "and after the restart")
            await _answer(alice, room_id, bot_id, "You said: and after the restart")
            asked = _asked(fake)
            assert len(asked) == 3, f"no replay, nothing lost: {asked}"
            # An encrypted file: the bot downloads and decrypts it.
            file_event = await _send_file(alice, room_id, b"secret notes\n" * 100)
            await _answer(alice, room_id, bot_id, "You said: what is in this file?")
            source = next(s.source for s in alice.seen if s.source.get("event_id") == file_event)
            inbound = to_inbound({**source, "room_id": room_id},
                                 RoomInfo(bot="kith", user_id=bot_id, member_count=2))
            assert inbound is not None and inbound.text == "what is in this file?"
            fetched = await channel.fetch_media(inbound.attachments[0], 10**6)
            assert fetched.data == b"secret notes\n" * 100


async def test_group_room_answers_exactly_the_addressed_messages_and_threads(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = lambda body: "You said: " + new_message(body).split(": ", 1)[1]
    local = unique("bot")
    bot_id = synapse.register(local, PASSWORD)
    async with (human(synapse, tmp_path, unique("alice")) as alice,
                human(synapse, tmp_path, unique("carol"), sync=False) as carol):
        toml = bot_toml(synapse, bot_id, [alice.user_id])
        async with running_bot(tmp_path, url, toml):
            room_id = await alice.create_room([bot_id, carol.user_id])
            await carol.client.join(room_id)
            await alice.wait_joined(room_id, carol.user_id)
            await alice.wait_joined(room_id, bot_id)
            await alice.say(room_id, "hello everyone")
            await alice.say(room_id, f"{local}, what time is it?")  # display name
            await alice.say(room_id, f"{bot_id} ping")  # MXID
            await alice.say(room_id, "hey you", **{"m.mentions": {"user_ids": [bot_id]}})
            await alice.say(room_id, "just chatting with carol")
            answered = await _answer(alice, room_id, bot_id, "You said: hey you")
            await alice.say(room_id, "and this one?", **{"m.relates_to": {
                "m.in_reply_to": {"event_id": answered}}})  # a reply to the bot
            root = await alice.say(room_id, "a thread about plans")
            await alice.say(room_id, f"{local} in the thread", **{"m.relates_to": {
                "rel_type": "m.thread", "event_id": root, "is_falling_back": True,
                "m.in_reply_to": {"event_id": root}}})
            in_thread = await _answer(alice, room_id, bot_id, f"You said: {local} in the thread")
            await _answer(alice, room_id, bot_id, "You said: and this one?")
            name = alice.user_id[1:].split(":")[0]  # group prompts name the author
            assert _asked(fake) == [f"{name}: {text}" for text in (
                f"{local}, what time is it?", f"{bot_id} ping", "hey you", "and this one?",
                f"{local} in the thread")]
            reply = next(s for s in alice.from_user(room_id, bot_id)
                         if s.source["event_id"] == in_thread)
            assert reply.content["m.relates_to"]["rel_type"] == "m.thread"
            assert reply.content["m.relates_to"]["event_id"] == root


async def test_invites_from_allowed_users_are_joined_and_from_strangers_ignored(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = echo
    bot_id = synapse.register(unique("bot"), PASSWORD)
    async with (human(synapse, tmp_path, unique("alice")) as alice,
                human(synapse, tmp_path, unique("mallory")) as mallory):
        toml = bot_toml(synapse, bot_id, [alice.user_id])
        async with running_bot(tmp_path, url, toml) as ch:
            spam = await mallory.create_room([bot_id])
            friendly = await alice.create_room([bot_id])  # invited after the stranger's
            await alice.wait_joined(friendly, bot_id)
            # The bot handles syncs in order: seeing this room means it saw the first invite.
            await asyncio.wait_for(_synced_room(ch, friendly), 30)
            assert spam not in ch.client.rooms
            members = await mallory.client.joined_members(spam)
            assert bot_id not in [m.user_id for m in getattr(members, "members", [])]
            # Messages the bot has no key for: one short plain notice, not silence or spam.
            for _ in range(2):
                await alice.client.room_send(friendly, "m.room.encrypted", LOST_KEY)
            await alice.say(friendly, "and in clear text?")
            await _answer(alice, friendly, bot_id, "You said: and in clear text?")
            notices = [s for s in alice.from_user(friendly, bot_id)
                       if s.content.get("msgtype") == "m.notice"]
            assert [n.content["body"] for n in notices] == [UNDECRYPTABLE]


async def test_rate_limited_sends_are_delivered_after_the_wait(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.itl, fake.ttft, fake.reply = 0.01, 0.8, echo
    bot_id = synapse.register(unique("bot"), PASSWORD)
    synapse.limit_messages(bot_id, per_second=2, burst=1)  # Synapse's own M_LIMIT_EXCEEDED
    async with human(synapse, tmp_path, unique("alice")) as alice:
        toml = bot_toml(synapse, bot_id, [alice.user_id])
        async with running_bot(tmp_path, url, toml) as channel:
            room_id = await alice.create_room([bot_id], direct=True)
            await alice.wait_joined(room_id, bot_id)
            words = "one two three four five six seven eight nine ten eleven"
            asked = await alice.say(room_id, words)
            await _answer(alice, room_id, bot_id, f"You said: {words}")
            assert channel.outbox.rate_limited >= 1
            # The model took a while (ttft): the bot showed "typing" and read the message.
            await alice.wait_for(lambda: (room_id, bot_id) in alice.typing
                                 and (room_id, bot_id, asked) in alice.read, 10)


async def test_access_token_login_and_the_ignore_policy_for_unverified_devices(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fake, url = fake_llm
    fake.reply = echo
    bot_id = synapse.register(unique("bot"), PASSWORD)
    monkeypatch.setenv("MATRIX_TEST_TOKEN", synapse.login(bot_id, PASSWORD))
    async with human(synapse, tmp_path, unique("alice")) as alice:
        toml = bot_toml(synapse, bot_id, [alice.user_id]).replace(
            f'password_env = "{PASSWORD_ENV}"', 'access_token_env = "MATRIX_TEST_TOKEN"'
        ) + 'unverified_devices = "ignore"\n'
        async with running_bot(tmp_path, url, toml) as channel:
            room_id = await alice.create_room([bot_id], encrypted=True, direct=True)
            await alice.wait_joined(room_id, bot_id)
            await alice.say(room_id, "can you read me?")
            # The bot reads the message, but alice's unverified device gets no room key.
            await alice.wait_for(lambda: any(
                s.source.get("sender") == bot_id and s.source.get("type") == "m.room.encrypted"
                for s in alice.seen if s.room_id == room_id), 30)
            assert _asked(fake) == ["can you read me?"]
            assert alice.shown(room_id, bot_id) == {}
            alice_device = channel.client.device_store[alice.user_id][alice.client.device_id]
            assert alice_device.blacklisted


async def test_password_login_leaves_no_secret_in_the_debug_log_and_keys_private(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str],
) -> None:
    """Canary at DEBUG: nio logs the login response (access token and all) while it
    validates it, before Kith can know the token. And the device keys are the owner's."""
    bot_id = synapse.register(unique("bot"), PASSWORD)
    with debug_log() as out:
        async with running_bot(tmp_path, fake_llm[1], bot_toml(synapse, bot_id, [])) as channel:
            token = channel.client.access_token
            store = channel.store_dir
    assert "Validating response schema" in out.getvalue()  # nio's own DEBUG lines ran
    assert_clean(out, token, PASSWORD)
    files = [p for p in store.iterdir() if p.is_file()]
    assert files and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in files), files
    for directory in (store, tmp_path / "data" / "kith", tmp_path / "data" / "kith" / "matrix"):
        assert stat.S_IMODE(directory.stat().st_mode) == 0o700, directory
