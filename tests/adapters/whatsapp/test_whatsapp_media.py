"""WhatsApp voice notes and photos, both providers: Twilio ``MediaUrl`` and Cloud API media
ids, through the real gateway, fetched from the fake Twilio / Graph, transcribed by the fake
speech server, seen by the fake LLM — real HTTP on loopback throughout."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import httpx
import pytest

from core.media.images import size_of
from tests.fakes.graph import FakeGraph, Fault
from tests.fakes.llm import FakeLLM
from tests.fakes.loopback import serve_loopback
from tests.fakes.media_files import jpeg, ogg_voice
from tests.fakes.speech import FakeSpeech
from tests.fakes.twilio import FakeTwilio
from tests.support import make_settings, running_gateway, running_kith, write_bot

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp"
SID = "AC" + "0123456789abcdef" * 2
TW_TOKEN = "twilio-test-token-0f1e2d3c"
GRAPH_TOKEN = "EAAG-graph-test-token-1234567890"
APP_SECRET = "app-secret-for-tests-5f4e3d"
PUBLIC = "https://kith.example.com"
OWNER = "+15551234567"
DESCRIPTION = "A red car on a grey street."


def answer(body: dict[str, Any]) -> str:
    return DESCRIPTION if not body.get("stream") else "Noted."


@dataclass
class Rig:
    """One provider, served for real; ``send`` posts a signed webhook and waits for the turn."""

    provider: str
    llm: FakeLLM
    speech: FakeSpeech
    send: Callable[[str, bytes, str, str], Awaitable[None]]  # kind, content, mime, caption
    replies: Callable[[], list[str]]
    downloads: Callable[[], int]  # media GETs made to the platform's CDN
    platform: Any = None  # the FakeTwilio or FakeGraph


def _settings(tmp_path: Path, llm_url: str, speech_url: str, **media: Any) -> Any:
    return make_settings(tmp_path, llm_url, gateway={"public_url": PUBLIC},
                         llm={"timeout": 60.0, "vision_model": "llama-vision"},
                         speech={"base_url": speech_url, "model": "whisper-test"},
                         media=media or {})


@pytest.fixture(params=["twilio", "cloud"])
async def rig(request: pytest.FixtureRequest, tmp_path: Path, fake_llm: tuple[FakeLLM, str],
              fake_speech: tuple[FakeSpeech, str],
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    for name, value in (("T_SID", SID), ("T_TOKEN", TW_TOKEN), ("T_WA_TOKEN", GRAPH_TOKEN),
                        ("T_WA_SECRET", APP_SECRET), ("T_WA_VERIFY", "verify")):
        monkeypatch.setenv(name, value)
    llm, llm_url = fake_llm
    llm.reply = answer
    factory = _twilio if request.param == "twilio" else _cloud
    async with factory(tmp_path, llm, llm_url, *fake_speech) as rig:
        yield rig


def _twilio(tmp_path: Path, llm: FakeLLM, llm_url: str, speech: FakeSpeech,
            speech_url: str, **media: Any) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def run() -> AsyncIterator[Rig]:
        twilio = FakeTwilio(SID, TW_TOKEN)
        async with serve_loopback(twilio.app()) as api:
            write_bot(tmp_path / "bots", toml=f"""
                [channels.whatsapp]
                account_sid_env = "T_SID"
                auth_token_env = "T_TOKEN"
                from_number = "+14155238886"
                api_base_url = "{api}"
                owners = ["{OWNER}"]
            """)
            settings = _settings(tmp_path, llm_url, speech_url, **media)
            async with (running_kith(settings) as kith, running_gateway(kith) as gateway,
                        httpx.AsyncClient(timeout=10.0) as client):
                count = 0

                async def send(kind: str, content: bytes, mime: str, caption: str) -> None:
                    nonlocal count
                    count += 1
                    msg = f"SM{count:032x}"
                    url = twilio.media_url(api, msg, content, mime)
                    form = {"AccountSid": SID, "From": f"whatsapp:{OWNER}",
                            "To": "whatsapp:+14155238886", "WaId": OWNER.lstrip("+"),
                            "ProfileName": "Alice", "MessageSid": msg, "SmsMessageSid": msg,
                            "NumMedia": "1", "MediaUrl0": url, "MediaContentType0": mime,
                            "Body": caption, "MessageType": kind}
                    signed = f"{PUBLIC}/hooks/kith/whatsapp"
                    response = await client.post(
                        f"{gateway}/hooks/kith/whatsapp", content=urlencode(form),
                        headers={"content-type": "application/x-www-form-urlencoded",
                                 "x-twilio-signature": twilio.sign(signed, form)})
                    assert response.status_code == 200
                    await kith.dispatcher.join()

                yield Rig("twilio", llm, speech, send,
                          lambda: [m["Body"] for m in twilio.messages],
                          lambda: sum(r.path.startswith("/cdn/") for r in twilio.requests),
                          twilio)

    return run()


def _cloud(tmp_path: Path, llm: FakeLLM, llm_url: str, speech: FakeSpeech,
           speech_url: str, **media: Any) -> Any:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def run() -> AsyncIterator[Rig]:
        graph = FakeGraph(GRAPH_TOKEN, app_secret=APP_SECRET, version="v22.0")
        async with serve_loopback(graph.app()) as api:
            write_bot(tmp_path / "bots", toml=f"""
                [channels.whatsapp_cloud]
                access_token_env = "T_WA_TOKEN"
                app_secret_env = "T_WA_SECRET"
                verify_token_env = "T_WA_VERIFY"
                phone_number_id = "106540352242922"
                api_base_url = "{api}"
                api_version = "v22.0"
                owners = ["{OWNER}"]
            """)
            settings = _settings(tmp_path, llm_url, speech_url, **media)
            async with (running_kith(settings) as kith, running_gateway(kith) as gateway,
                        httpx.AsyncClient(timeout=10.0) as client):
                count = 0

                async def send(kind: str, content: bytes, mime: str, caption: str) -> None:
                    nonlocal count
                    count += 1
                    payload = json.loads((FIXTURES / f"cloud_{kind}.json").read_text())
                    message = payload["entry"][0]["changes"][0]["value"]["messages"][0]
                    message["id"] = f"wamid.media{count}"
                    body = {"id": graph.add_media(content, mime), "mime_type": mime}
                    if caption:
                        body["caption"] = caption
                    message[kind] = body
                    raw = json.dumps(payload).encode()
                    response = await client.post(
                        f"{gateway}/hooks/kith/whatsapp_cloud", content=raw,
                        headers={"content-type": "application/json",
                                 "x-hub-signature-256": graph.sign(raw)})
                    assert response.status_code == 200
                    await kith.dispatcher.join()

                yield Rig("cloud", llm, speech, send,
                          lambda: [m["text"]["body"] for m in graph.messages],
                          lambda: sum(r.path.startswith("/cdn/") for r in graph.requests),
                          graph)

    return run()


def _turns(llm: FakeLLM) -> list[Any]:
    return [r for r in llm.chat_requests if r.get("stream") and "response_format" not in r]


async def test_voice_note_reaches_the_speech_server_and_is_the_turn(rig: Rig) -> None:
    rig.speech.script("pick up the kids at five")
    clip = ogg_voice(2.0)
    await rig.send("audio", clip, "audio/ogg; codecs=opus", "")
    [upload] = rig.speech.uploads
    assert upload.data == clip and upload.content_type == "audio/ogg"
    assert upload.filename.endswith(".ogg")
    last = _turns(rig.llm)[-1]["messages"][-1]["content"]
    assert "[voice note, transcribed] pick up the kids at five" in last
    assert rig.replies() == ["Noted."]


async def test_photo_with_caption_carries_the_resized_image(rig: Rig) -> None:
    await rig.send("image", jpeg(2400, 1600), "image/jpeg", "Which model is this car?")
    content = _turns(rig.llm)[-1]["messages"][-1]["content"]
    [image] = [p["image_url"]["url"] for p in content if p["type"] == "image_url"]
    assert size_of(image) == (1120, 747)
    assert "Which model is this car?" in " ".join(p.get("text", "") for p in content)
    assert rig.replies() == ["Noted."]


@pytest.mark.parametrize("provider", ["twilio", "cloud"])
async def test_oversized_voice_note_is_not_downloaded_past_the_limit(
        provider: str, tmp_path: Path, fake_llm: tuple[FakeLLM, str],
        fake_speech: tuple[FakeSpeech, str], monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("T_SID", SID), ("T_TOKEN", TW_TOKEN), ("T_WA_TOKEN", GRAPH_TOKEN),
                        ("T_WA_SECRET", APP_SECRET), ("T_WA_VERIFY", "verify")):
        monkeypatch.setenv(name, value)
    llm, llm_url = fake_llm
    factory = _twilio if provider == "twilio" else _cloud
    big = b"OggS" + bytes(12_000_000)
    async with factory(tmp_path, llm, llm_url, *fake_speech, max_audio_mb=1) as rig:
        await rig.send("audio", big, "audio/ogg", "")
        assert "too large for me" in rig.replies()[0]
        # Graph states file_size: the CDN is never asked. Twilio states nothing: the
        # streamed download stops at the limit (Content-Length is refused before the body).
        assert rig.downloads() == (1 if provider == "twilio" else 0)
        assert rig.speech.uploads == [] and _turns(llm) == []


async def test_twilio_media_without_a_size_stops_at_the_limit(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], fake_speech: tuple[FakeSpeech, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("T_SID", SID)
    monkeypatch.setenv("T_TOKEN", TW_TOKEN)
    llm, llm_url = fake_llm
    big = b"OggS" + bytes(60_000_000)
    async with _twilio(tmp_path, llm, llm_url, *fake_speech, max_audio_mb=1) as rig:
        rig.platform.chunked = True
        await rig.send("audio", big, "audio/ogg", "")
        assert "too large for me" in rig.replies()[0]
        assert rig.platform.streamed < len(big) // 4  # stopped reading near 1 MB


async def test_cloud_media_download_is_retried(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], fake_speech: tuple[FakeSpeech, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in (("T_WA_TOKEN", GRAPH_TOKEN), ("T_WA_SECRET", APP_SECRET),
                        ("T_WA_VERIFY", "verify")):
        monkeypatch.setenv(name, value)
    llm, llm_url = fake_llm
    speech = fake_speech[0]
    speech.script("after a hiccup")
    async with _cloud(tmp_path, llm, llm_url, *fake_speech) as rig:
        rig.platform.cdn_faults.extend([Fault(503), Fault(429, retry_after=0)])
        await rig.send("audio", ogg_voice(1.0), "audio/ogg", "")
        assert rig.downloads() == 3 and len(speech.uploads) == 1
        assert "after a hiccup" in _turns(llm)[-1]["messages"][-1]["content"]
