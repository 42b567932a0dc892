"""Voice notes and photos over Telegram, end to end: fake Bot API (getFile + file download)
⇄ Kith ⇄ fake speech server and fake LLM, all real HTTP on loopback."""

from __future__ import annotations

import json
from typing import Any

from core.media.images import size_of
from core.media.words import NO_SPEECH, NO_VIDEO, NO_VISION, OWNER_SPEECH
from tests.adapters.telegram.rig import FRIEND, OWNER, RigFactory, TelegramRig, fixture, turns
from tests.fakes.media_files import corrupt_jpeg, jpeg, ogg_voice
from tests.fakes.speech import FakeSpeech

DESCRIPTION = "A red car parked on a grey street."


def answer(body: dict[str, Any]) -> str:
    return DESCRIPTION if not body.get("stream") else "Got it."


def update(rig: TelegramRig, message_id: int, sender: int = OWNER,
           **content: Any) -> dict[str, Any]:
    base = fixture("private_text")
    message = base["message"]
    message.pop("text")
    message["message_id"] = message_id
    message["from"]["id"] = message["chat"]["id"] = sender
    message.update(content)
    base["update_id"] = rig.bot_api.next_update_id()
    return base


def voice(rig: TelegramRig, message_id: int, data: bytes, *, duration: int = 3,
          size: int | None = None, sender: int = OWNER) -> dict[str, Any]:
    file_id = f"AwACAgvoice{message_id}"
    rig.bot_api.files[f"documents/{file_id}.bin"] = data
    return update(rig, message_id, sender, voice={
        "file_id": file_id, "file_unique_id": f"u{message_id}", "duration": duration,
        "mime_type": "audio/ogg", "file_size": size if size is not None else len(data)})


def photo(rig: TelegramRig, message_id: int, data: bytes, caption: str = "") -> dict[str, Any]:
    file_id = f"AgACAgphoto{message_id}"
    rig.bot_api.files[f"documents/{file_id}.bin"] = data
    sizes = [{"file_id": f"{file_id}s", "file_unique_id": "s", "width": 90, "height": 60,
              "file_size": 1200},
             {"file_id": file_id, "file_unique_id": "b", "width": 3000, "height": 2000,
              "file_size": len(data)}]
    extra = {"caption": caption} if caption else {}
    return update(rig, message_id, photo=sizes, **extra)


def text(rig: TelegramRig, message_id: int, words: str) -> dict[str, Any]:
    return update(rig, message_id, text=words)


def images_of(request: dict[str, Any]) -> list[str]:
    content = request["messages"][-1]["content"]
    if isinstance(content, str):
        return []
    return [p["image_url"]["url"] for p in content if p["type"] == "image_url"]


def last_text(request: dict[str, Any]) -> str:
    content = request["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return " ".join(p["text"] for p in content if p["type"] == "text")


def speech_settings(url: str, **extra: Any) -> dict[str, Any]:
    return {"speech": {"base_url": url, "model": "whisper-test", **extra}}


async def test_voice_note_is_transcribed_and_is_the_turn(
        telegram_rig: RigFactory, fake_speech: tuple[FakeSpeech, str]) -> None:
    speech, url = fake_speech
    speech.script("remind me to buy oat milk")
    clip = ogg_voice(3.0)
    async with telegram_rig(**speech_settings(url)) as rig:
        rig.llm.reply = answer
        await rig.send(voice(rig, 501, clip))
        [upload] = speech.uploads
        assert upload.data == clip and upload.content_type == "audio/ogg"
        assert upload.container == "ogg"  # vLLM reads OGG/Opus as is: no conversion
        assert upload.fields["model"] == "whisper-test"
        request = turns(rig)[-1]
        assert "[voice note, transcribed] remind me to buy oat milk" in last_text(request)
        assert rig.bot_api.chat_texts(OWNER) == ["Got it."]
        rows = rig.kith.store.db.execute(  # type: ignore[attr-defined]
            "SELECT role, text FROM turns ORDER BY seq").fetchall()
        assert rows[0] == ("user", "[voice note, transcribed] remind me to buy oat milk")
        # The next turn sees the transcript in history, as the person's words.
        await rig.send(text(rig, 502, "what did I ask?"))
        assert "remind me to buy oat milk" in json.dumps(turns(rig)[-1]["messages"][:-1])


async def test_whisper_cpp_gets_wav_and_uncertain_transcripts_are_flagged(
        telegram_rig: RigFactory, fake_speech: tuple[FakeSpeech, str]) -> None:
    speech, url = fake_speech
    speech.accepts = "whisper.cpp"
    speech.script("call the plumber at nine", uncertain=True)
    async with telegram_rig(**speech_settings(url, convert="wav",
                                              response_format="verbose_json")) as rig:
        rig.llm.reply = answer
        await rig.send(voice(rig, 511, ogg_voice(2.0)))
        [upload] = speech.uploads
        assert upload.container == "wav" and upload.content_type == "audio/wav"
        assert upload.data[22:24] == b"\x01\x00"  # mono
        assert int.from_bytes(upload.data[24:28], "little") == 16_000
        request = turns(rig)[-1]
        assert "call the plumber at nine" in last_text(request)
        assert "quote back what you understood" in last_text(request)


async def test_speech_server_errors_get_an_honest_reply(
        telegram_rig: RigFactory, fake_speech: tuple[FakeSpeech, str]) -> None:
    speech, url = fake_speech
    speech.inject(500, times=3)
    async with telegram_rig(**speech_settings(url)) as rig:
        await rig.send(voice(rig, 521, ogg_voice(1.0)))
        assert len(speech.uploads) == 3  # retried, then gave up
        assert "couldn't transcribe" in rig.bot_api.chat_texts(OWNER)[0]
        assert turns(rig) == []


async def test_photo_with_caption_then_follow_up(telegram_rig: RigFactory) -> None:
    async with telegram_rig(llm={"vision_model": "llama-vision"},
                            media={"keep_image_turns": 1}) as rig:
        rig.llm.reply = answer
        await rig.send(photo(rig, 601, jpeg(3000, 2000), caption="Is this parked legally?"))
        first = turns(rig)[-1]
        assert first["model"] == "llama-vision"
        [url] = images_of(first)
        assert url.startswith("data:image/jpeg;base64,") and size_of(url) == (1120, 747)
        assert "Is this parked legally?" in last_text(first)
        describes = [r for r in rig.llm.chat_requests if not r.get("stream")]
        assert len(describes) == 1 and images_of(describes[0]) == [url]
        # A follow-up carries the image again, and the description is in history.
        await rig.send(text(rig, 602, "what colour was the car?"))
        follow = turns(rig)[-1]
        assert images_of(follow) == [url] and follow["model"] == "llama-vision"
        assert DESCRIPTION in json.dumps(follow["messages"][:-1])
        # After keep_image_turns the image is gone; the description stays.
        await rig.send(text(rig, 603, "and the street?"))
        later = turns(rig)[-1]
        assert images_of(later) == [] and later["model"] == "llama-test"
        assert DESCRIPTION in json.dumps(later["messages"])
        assert len([r for r in rig.llm.chat_requests if not r.get("stream")]) == 1  # once


async def test_limits_refuse_before_download(
        telegram_rig: RigFactory, fake_speech: tuple[FakeSpeech, str]) -> None:
    _, url = fake_speech
    async with telegram_rig(llm={"vision_model": "llama-vision"}, **speech_settings(url),
                            media={"max_audio_mb": 5}) as rig:
        api = rig.bot_api
        video = update(rig, 701, video={"file_id": "BAACvideo", "file_unique_id": "v",
                                        "width": 1920, "height": 1080, "duration": 600,
                                        "mime_type": "video/mp4", "file_size": 200_000_000})
        await rig.send(video)
        assert api.chat_texts(OWNER)[-1] == NO_VIDEO
        await rig.send(voice(rig, 702, b"OggS" + b"\0" * 100, size=30_000_000))
        assert "too large for me (30 MB)" in api.chat_texts(OWNER)[-1]
        await rig.send(voice(rig, 703, b"OggS" + b"\0" * 100, duration=900))
        assert "too long" in api.chat_texts(OWNER)[-1]
        assert api.calls_to("getFile") == []  # nothing downloaded at all
        await rig.send(photo(rig, 704, corrupt_jpeg()))
        assert "damaged" in api.chat_texts(OWNER)[-1]
        assert turns(rig) == [] and rig.llm.chat_requests == []
        rows = rig.kith.store.db.execute(  # type: ignore[attr-defined]
            "SELECT text FROM turns WHERE role = 'user' ORDER BY seq").fetchall()
        assert [r[0] for r in rows] == [
            "[video — not read: videos are not supported]",
            "[voice note — not read: too large]", "[voice note — not read: too long]",
            "[photo — not read: unreadable]"]


async def test_no_speech_model_honest_sentence_and_owner_told_once(
        telegram_rig: RigFactory) -> None:
    async with telegram_rig() as rig:
        api = rig.bot_api
        await rig.send(voice(rig, 801, ogg_voice(1.0)))
        assert api.chat_texts(OWNER) == [f"{NO_SPEECH} {OWNER_SPEECH}"]
        await rig.send(voice(rig, 802, ogg_voice(1.0)))
        assert api.chat_texts(OWNER)[-1] == NO_SPEECH
        await rig.send(voice(rig, 803, ogg_voice(1.0), sender=FRIEND))
        assert api.chat_texts(FRIEND) == [NO_SPEECH]
        await rig.send(photo(rig, 804, jpeg(300, 200), caption="look"))
        assert api.chat_texts(OWNER)[-1].startswith(NO_VISION)
        assert api.calls_to("getFile") == [] and turns(rig)[-1:] != []  # caption answered
        assert "KITH_LLM__VISION_MODEL" in api.chat_texts(OWNER)[-1]
    async with telegram_rig() as rig:  # after a restart: still told only once
        await rig.send(voice(rig, 805, ogg_voice(1.0)))
        assert rig.bot_api.chat_texts(OWNER) == [NO_SPEECH]


async def test_forget_removes_transcripts_and_descriptions(
        telegram_rig: RigFactory, fake_speech: tuple[FakeSpeech, str]) -> None:
    speech, url = fake_speech
    speech.script("my locker code is 4312")
    async with telegram_rig(llm={"vision_model": "llama-vision"}, **speech_settings(url)) as rig:
        rig.llm.reply = answer
        await rig.send(voice(rig, 901, ogg_voice(1.0)))
        await rig.send(photo(rig, 902, jpeg(600, 400)))
        await rig.send(text(rig, 903, "/export"))
        exported = rig.bot_api.chat_texts(OWNER)[-1]
        assert "my locker code is 4312" in exported and DESCRIPTION in exported
        await rig.send(text(rig, 904, "/forget"))
        assert "deleted 4 messages" in rig.bot_api.chat_texts(OWNER)[-1]
        await rig.send(text(rig, 905, "/export"))
        exported = rig.bot_api.chat_texts(OWNER)[-1]
        assert "4312" not in exported and DESCRIPTION not in exported
        dump = "\n".join(rig.kith.store.db.iterdump())  # type: ignore[attr-defined]
        assert "4312" not in dump and DESCRIPTION not in dump
        await rig.send(text(rig, 906, "what was in the photo?"))
        assert images_of(turns(rig)[-1]) == []  # the kept photo went with the turn


async def test_group_photo_not_addressed_is_never_downloaded(
        telegram_rig: RigFactory) -> None:
    async with telegram_rig(extra="group_context = true",
                            llm={"vision_model": "llama-vision"}) as rig:
        group = fixture("group_plain")
        message = group["message"]
        message.pop("text", None)
        message["photo"] = [{"file_id": "AgACgroup", "file_unique_id": "g", "width": 10,
                             "height": 10, "file_size": 100}]
        await rig.send(group)
        assert rig.bot_api.calls_to("getFile") == [] and rig.llm.chat_requests == []


async def test_bot_api_download_limit_and_retries(
        telegram_rig: RigFactory, fake_speech: tuple[FakeSpeech, str]) -> None:
    speech, url = fake_speech
    speech.script("second try worked")
    async with telegram_rig(**speech_settings(url), media={"max_audio_mb": 50}) as rig:
        api = rig.bot_api
        # Over the Bot API's own 20 MB: getFile refuses, nothing is downloaded.
        big = voice(rig, 1001, b"OggS" + bytes(21 * 2**20))
        big["message"]["voice"].pop("file_size")
        await rig.send(big)
        assert "too large for me" in api.chat_texts(OWNER)[-1]
        assert not [c for c in api.calls if c.method == "getFile" and c.status == 200]
        # A 502 from getFile is retried by the channel's policy.
        api.inject("getFile", 502, "Bad Gateway")
        await rig.send(voice(rig, 1002, ogg_voice(1.0)))
        assert len(speech.uploads) == 1
        assert "second try worked" in last_text(turns(rig)[-1])
