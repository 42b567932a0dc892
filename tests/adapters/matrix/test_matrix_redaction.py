"""The password message of /calendar connect is redacted on Matrix (a real Synapse) where
Kith may redact it — a DM made as Element makes one — and where it may not, Kith says so
and asks the person to delete it. The password reaches no model request and no DEBUG log
line (nio's included) either way."""

from __future__ import annotations

from pathlib import Path

import pytest
from nio import RoomPreset

from tests.adapters.matrix.kit import PASSWORD, bot_toml, human, running_bot, unique
from tests.adapters.matrix.people import Human
from tests.adapters.matrix.synapse import Synapse
from tests.calendar.radicale import Radicale, radicale
from tests.calendar.test_links import DENTIST
from tests.canary import assert_clean, debug_log
from tests.fakes.llm import FakeLLM

__all__ = ["radicale"]


async def _said(person: Human, room_id: str, bot_id: str, words: str) -> str:
    def found() -> str | None:
        return next((t for t in person.shown(room_id, bot_id).values() if words in t), None)
    try:
        return str(await person.wait_for(found, 60))
    except TimeoutError:
        raise AssertionError(f"{words!r} not in {person.shown(room_id, bot_id)}") from None


@pytest.mark.parametrize("preset", [RoomPreset.trusted_private_chat, None])
async def test_the_password_message_is_redacted_where_kith_may(
        synapse: Synapse, radicale: Radicale, tmp_path: Path, fake_llm: tuple[FakeLLM, str],
        preset: RoomPreset | None) -> None:
    fake, url = fake_llm
    user, password = radicale.user()
    radicale.calendar(user, password).save_event(DENTIST)
    bot_id = synapse.register(unique("bot"), PASSWORD)
    with debug_log() as out:  # nio's DEBUG lines too
        async with (human(synapse, tmp_path, unique("bea")) as bea,
                    running_bot(tmp_path, url, bot_toml(synapse, bot_id, [bea.user_id]))):
            room_id = await bea.create_room([bot_id], encrypted=True, direct=True,
                                            preset=preset)
            await bea.wait_joined(room_id, bot_id)
            await bea.say(room_id, f"/calendar connect {radicale.url} {user}")
            await _said(bea, room_id, bot_id, "send me the password")
            secret_event = await bea.say(room_id, password)
            answer = await _said(bea, room_id, bot_id, "Connected")
            if preset is RoomPreset.trusted_private_chat:
                assert answer.endswith("I deleted your message with the password.")
                await bea.wait_for(lambda: any(
                    s.source.get("type") == "m.room.redaction"
                    and s.source.get("redacts") == secret_event for s in bea.seen), 30)
            else:  # Synapse refused: Bea is asked to delete it herself
                assert answer.endswith("please delete your message with the password "
                                       "yourself.")
            await bea.say(room_id, "/agenda 2027-03-30")
            await _said(bea, room_id, bot_id, "Bea's dentist")
    assert all(password not in str(r) for r in fake.chat_requests)
    assert_clean(out, password)
