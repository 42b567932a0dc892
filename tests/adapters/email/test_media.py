"""Email audio and image attachments, over real SMTP: the owner's own voice memo is their
turn; a photo in a mail they forwarded is someone else's, so its description is quoted."""

from __future__ import annotations

from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Any

from tests.adapters.email.conftest import KITH, OWNER, email_rig, forward
from tests.adapters.email.servers import DkimKey, Relay
from tests.fakes.llm import FakeLLM
from tests.fakes.media_files import jpeg, ogg_voice
from tests.fakes.speech import FakeSpeech


def _with_file(raw: bytes, data: bytes, mime: str, name: str) -> bytes:
    from email import policy
    from email.parser import BytesParser

    message = BytesParser(policy=policy.default).parsebytes(raw)
    assert isinstance(message, EmailMessage)
    major, minor = mime.split("/")
    message.add_attachment(data, maintype=major, subtype=minor, filename=name)
    return message.as_bytes(policy=SMTP)


def _plain(note: str) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = OWNER, KITH, "memo"
    message["Message-ID"] = make_msgid(domain="example.com")
    message.set_content(note)
    return message.as_bytes(policy=SMTP)


def _streamed(fake: FakeLLM) -> list[Any]:
    return [r for r in fake.chat_requests if r.get("stream")]


async def test_voice_memo_and_forwarded_photo(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay,
        keys: dict[str, DkimKey], fake_speech: tuple[FakeSpeech, str]) -> None:
    speech, speech_url = fake_speech
    speech.script("tell them I can do Friday")
    fake, _ = fake_llm
    fake.reply = lambda body: "A signed contract page." if not body.get("stream") else "Draft."
    async with email_rig(tmp_path, fake_llm, relay, keys,
                         llm={"vision_model": "llama-vision"},
                         speech={"base_url": speech_url, "model": "whisper-test"}) as rig:
        clip = ogg_voice(1.5)
        await rig.send(rig.signed(_with_file(_plain("see the memo"), clip, "audio/ogg",
                                             "memo.ogg")))
        await rig.drafts(1)
        [upload] = speech.uploads
        assert upload.data == clip and upload.content_type == "audio/ogg"
        prompt = str(_streamed(fake)[-1]["messages"][-1]["content"])
        assert "[voice note, transcribed] tell them I can do Friday" in prompt
        raw = forward("draft a reply", "Please sign page 3.", msgid="<c1@example.com>")
        await rig.send(rig.signed(_with_file(raw, jpeg(1600, 1200), "image/jpeg", "p3.jpg")))
        await rig.drafts(2)
        content = _streamed(fake)[-1]["messages"][-1]["content"]
        assert [p["type"] for p in content].count("image_url") == 1
        describes = [r for r in fake.chat_requests if not r.get("stream")]
        assert len(describes) == 1  # the photo was described once
        rows = rig.kith.store.db.execute(  # type: ignore[attr-defined]
            "SELECT text FROM turns WHERE role = 'user' ORDER BY seq").fetchall()
        assert "[voice note, transcribed] tell them I can do Friday" in rows[0][0]
        # The forwarded photo is not the owner's words: its description is quoted content.
        assert "draft a reply" in rows[1][0] and "[photo" not in rows[1][0]
