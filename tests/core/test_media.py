"""The pure parts of core.media: transcripts, captions, kept photos, images, audio, prompt."""

from __future__ import annotations

import io
from email.message import EmailMessage
from email.policy import SMTP

import pytest
from PIL import Image

from adapters.email.media import extract, media_attachments, spool_name
from core.events import Attachment
from core.llm import ChatMessage
from core.media import MediaTooLarge, MediaUnavailable
from core.media.audio import BadAudio, probe_seconds, to_wav
from core.media.images import MAX_PIXELS, BadImage, prepare_image, size_of
from core.media.pipeline import media_kind
from core.media.recent import MAX_IMAGES, RecentImages
from core.media.speech import SpeechError, decode_transcript
from core.media.words import caption_of
from core.prompt import IMAGE_TOKENS
from tests.core.test_prompt import data, turns
from tests.fakes.media_files import corrupt_jpeg, jpeg, ogg_voice


def test_transcripts_json_and_verbose() -> None:
    assert decode_transcript({"text": " hello "}).text == "hello"
    sure = {"text": "hi", "segments": [{"avg_logprob": -0.2, "no_speech_prob": 0.01}]}
    assert not decode_transcript(sure).uncertain
    unsure = {"text": "hi", "segments": [{"avg_logprob": -1.4, "no_speech_prob": 0.01}]}
    assert decode_transcript(unsure).uncertain
    silent = {"text": "", "segments": [{"avg_logprob": -0.1, "no_speech_prob": 0.9}]}
    assert decode_transcript(silent).uncertain
    for bad in (None, [], {"txt": "x"}, {"text": 3}):
        with pytest.raises(SpeechError):
            decode_transcript(bad)


def test_bare_file_markers_are_not_captions() -> None:
    for marker in ("[audio]", "[image]", " [sent an audio] ", "[sent a video]", ""):
        assert caption_of(marker) == ""
    assert caption_of("Look at [image] this") == "Look at [image] this"
    assert caption_of("what car is this?") == "what car is this?"


def test_kinds_follow_the_mime_type_of_documents() -> None:
    assert media_kind(Attachment("document", "x", mime_type="image/png")) == "image"
    assert media_kind(Attachment("document", "x", mime_type="audio/mpeg")) == "audio"
    assert media_kind(Attachment("document", "x", mime_type="application/pdf")) is None
    assert media_kind(Attachment("location", "geo:1,2")) is None
    assert media_kind(Attachment("video", "x")) == "video"


def test_kept_photos_expire_by_turns_time_and_forget() -> None:
    now = [0.0]
    recent = RecentImages(turns=2, seconds=60, clock=lambda: now[0])
    recent.add("c1", ("a",))
    assert recent.take("c1") == ("a",)
    assert recent.take("c1") == ("a",)
    assert recent.take("c1") == ()  # two turns used it
    recent.add("c1", ("b",))
    recent.add("c2", ("z",))
    now[0] = 61
    assert recent.take("c1") == () and len(recent) == 1  # expired, and dropped
    recent.add("c2", tuple(str(i) for i in range(10)))
    assert len(recent.take("c2")) == MAX_IMAGES
    recent.forget("c2")
    assert recent.take("c2") == () and len(recent) == 0
    off = RecentImages(turns=0, seconds=60)
    off.add("c", ("a",))
    assert off.take("c") == ()


def test_images_are_resized_fixed_and_refused_when_bad() -> None:
    big = prepare_image(jpeg(4000, 3000), 1120)
    assert (big.width, big.height) == (1120, 840) and size_of(big.data_url) == (1120, 840)
    small = prepare_image(jpeg(300, 200), 1120)
    assert (small.width, small.height) == (300, 200)  # never enlarged
    rgba = io.BytesIO()
    Image.new("RGBA", (50, 40), (0, 0, 255, 128)).save(rgba, format="PNG")
    assert prepare_image(rgba.getvalue(), 1120).data_url.startswith("data:image/jpeg;base64,")
    rotated = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90° clockwise to display"
    Image.new("RGB", (200, 100), "red").save(rotated, format="JPEG", exif=exif)
    assert size_of(prepare_image(rotated.getvalue(), 1120).data_url) == (100, 200)
    for bad in (corrupt_jpeg(), b"", b"GIF89a not really", b"\x89PNG\r\n\x1a\n" + b"\0" * 20):
        with pytest.raises(BadImage):
            prepare_image(bad, 1120)
    bomb = io.BytesIO()
    Image.new("1", (MAX_PIXELS // 4000 + 10, 4000)).save(bomb, format="PNG")
    with pytest.raises(BadImage, match="too many pixels"):
        prepare_image(bomb.getvalue(), 1120)


def test_audio_duration_and_wav() -> None:
    clip = ogg_voice(2.5)
    assert probe_seconds(clip) == pytest.approx(2.5, abs=0.05)
    wav = to_wav(clip)
    assert wav[:4] == b"RIFF" and wav[8:12] == b"WAVE"
    assert probe_seconds(wav) == pytest.approx(2.5, abs=0.05)
    for bad in (b"", b"OggS" + b"\0" * 64, jpeg(20, 20)):
        with pytest.raises(BadAudio):
            probe_seconds(bad)
        with pytest.raises(BadAudio):
            to_wav(bad)


def test_image_parts_on_the_wire() -> None:
    assert ChatMessage("user", "hi").wire() == {"role": "user", "content": "hi"}
    wire = ChatMessage("user", "what car?", images=("data:image/jpeg;base64,AA",)).wire()
    assert wire["content"] == [
        {"type": "image_url", "image_url": {"url": "data:image/jpeg;base64,AA"}},
        {"type": "text", "text": "what car?"}]


def test_images_ride_on_the_new_message_and_leave_the_prefix_alone() -> None:
    from core.prompt import build_prompt

    plain = build_prompt(data(turns(6)))
    seen = build_prompt(data(turns(6), images=["data:image/jpeg;base64,AA"]))
    assert seen.messages[:-1] == plain.messages[:-1]  # the cached prefix is unchanged
    assert seen.messages[-1].images == ("data:image/jpeg;base64,AA",)
    assert all(not m.images for m in seen.messages[:-1])
    assert seen.tokens == plain.tokens + IMAGE_TOKENS


def _mail(*files: tuple[bytes, str, str], inline_logo: bool = False) -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "k@example.com", "x"
    message.set_content("see attached")
    for data_, mime, name in files:
        major, minor = mime.split("/")
        message.add_attachment(data_, maintype=major, subtype=minor, filename=name)
    if inline_logo:
        message.add_related(b"\x89PNG logo", maintype="image", subtype="png", cid="<logo@x>")
    return message.as_bytes(policy=SMTP)


def test_email_attachments_are_listed_and_extracted() -> None:
    spooled = "0123456789abcdef" * 2
    raw = _mail((b"OggS voice", "audio/ogg", "memo.ogg"), (b"%PDF", "application/pdf", "a.pdf"),
                (b"\xff\xd8jpeg", "image/jpeg", "p.jpg"))
    found = media_attachments(raw, spooled, forwarded=True)
    assert [(a.kind, a.name, a.size, a.quoted) for a in found] == [
        ("audio", "memo.ogg", 10, True), ("image", "p.jpg", 6, True)]
    assert extract(raw, found[0], 100).data == b"OggS voice"
    with pytest.raises(MediaTooLarge):
        extract(raw, found[0], 5)
    with pytest.raises(MediaUnavailable):
        extract(raw, Attachment("audio", f"{spooled}:1"), 100)  # the text part: not media
    assert spool_name(found[0]) == spooled
    for ref in ("../../etc/passwd:1", f"{spooled}", "ABCDEF0123456789" * 2 + ":1"):
        with pytest.raises(MediaUnavailable):
            spool_name(Attachment("audio", ref))
    assert media_attachments(b"\0\0 not a mail", spooled, forwarded=False) == ()
