"""The Matrix channel against a real Synapse: E2EE DMs, rooms, mentions, threads, invites,
restarts and rate limits. The human side is a second nio client with its own store."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.adapters.matrix.kit import PASSWORD, bot_toml, human, running_bot, unique
from tests.adapters.matrix.people import Human
from tests.adapters.matrix.synapse import Synapse
from tests.fakes.llm import FakeLLM


def _asked(fake: FakeLLM) -> list[str]:
    """The new message of every streamed (answering) model request, in order."""
    return [r["messages"][-1]["content"] for r in fake.chat_requests if r.get("stream")]


async def _answer(person: Human, room_id: str, bot_id: str, text: str) -> str:
    """Wait until the bot's message in ``room_id`` shows ``text`` (edits applied)."""
    def found() -> str | None:
        return next((eid for eid, shown in person.shown(room_id, bot_id).items()
                     if shown == text), None)
    return str(await person.wait_for(found, 30))


async def test_encrypted_dm_streams_a_reply_the_human_decrypts_and_survives_restart(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.itl = 0.02
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
