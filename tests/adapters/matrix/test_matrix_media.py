"""Matrix voice notes and photos in an encrypted DM on the real Synapse: the bot downloads
and decrypts the attachment (nio's ``decrypt_attachment``), the fake speech server gets the
plaintext OGG, and the fake LLM gets the transcript and the resized image."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from nio import UploadResponse

from core.media.images import size_of
from tests.adapters.matrix.kit import PASSWORD, bot_toml, human, running_bot, unique
from tests.adapters.matrix.people import Human
from tests.adapters.matrix.synapse import Synapse
from tests.fakes.llm import FakeLLM
from tests.fakes.media_files import jpeg, ogg_voice
from tests.fakes.speech import FakeSpeech


async def _send_encrypted(person: Human, room_id: str, data: bytes, mime: str, name: str,
                          msgtype: str, body: str, **info: Any) -> str:
    upload, keys = await person.client.upload(io.BytesIO(data), mime, name, encrypt=True,
                                              filesize=len(data))
    assert isinstance(upload, UploadResponse), upload
    assert keys is not None
    secret = {"url": upload.content_uri, "key": keys["key"], "iv": keys["iv"],
              "hashes": keys["hashes"], "v": keys["v"]}
    return await person.say(room_id, body, msgtype=msgtype, filename=name, file=secret,
                            info={"mimetype": mime, "size": len(data), **info})


def _streamed(fake: FakeLLM) -> list[Any]:
    return [r for r in fake.chat_requests if r.get("stream")]


async def test_encrypted_voice_note_and_photo(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str],
    fake_speech: tuple[FakeSpeech, str],
) -> None:
    fake, url = fake_llm
    speech, speech_url = fake_speech
    speech.script("is the meeting still on")
    fake.reply = lambda body: "A red car." if not body.get("stream") else "Yes, it is."
    bot_id = synapse.register(unique("bot"), PASSWORD)
    async with human(synapse, tmp_path, unique("alice")) as alice:
        toml = bot_toml(synapse, bot_id, [alice.user_id])
        async with running_bot(
            tmp_path, url, toml, llm={"vision_model": "llama-vision"},
            speech={"base_url": speech_url, "model": "whisper-test"},
        ) as channel:
            room_id = await alice.create_room([bot_id], encrypted=True, direct=True)
            await alice.wait_joined(room_id, bot_id)
            clip = ogg_voice(2.0)
            await _send_encrypted(alice, room_id, clip, "audio/ogg", "voice.ogg", "m.audio",
                                  "voice.ogg", duration=2000)
            await alice.wait_for(lambda: len(_streamed(fake)) >= 1, 30)
            [upload] = speech.uploads
            assert upload.data == clip, "the plaintext, decrypted by the bot"
            assert upload.content_type == "audio/ogg"
            assert "[voice note, transcribed] is the meeting still on" in str(
                _streamed(fake)[0]["messages"][-1]["content"])
            await _send_encrypted(alice, room_id, jpeg(2000, 1500), "image/jpeg", "car.jpg",
                                  "m.image", "whose car is this?", w=2000, h=1500)
            await alice.wait_for(lambda: len(_streamed(fake)) >= 2, 30)
            content = _streamed(fake)[1]["messages"][-1]["content"]
            [image] = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
            assert size_of(image) == (1120, 840)
            assert "whose car is this?" in " ".join(p.get("text", "") for p in content)
            assert channel.client.rooms[room_id].encrypted
