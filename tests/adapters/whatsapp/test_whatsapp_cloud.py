"""WhatsApp Cloud API end to end: signed webhooks into the real gateway, replies to a fake Graph."""

from __future__ import annotations

import asyncio
import io
import json
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from structlog.testing import capture_logs

from adapters.whatsapp.cloud_channel import CloudWhatsApp
from bots.runtime import Kith
from core.events import Attachment
from core.media import MediaUnavailable
from tests.canary import assert_clean
from tests.fakes.graph import FakeGraph, Fault
from tests.fakes.llm import FakeLLM
from tests.fakes.loopback import serve_loopback
from tests.support import make_settings, running_gateway, running_kith, write_bot

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp"
TOKEN = "EAAG-graph-test-token-1234567890"
APP_SECRET = "app-secret-for-tests-5f4e3d"
VERIFY = "verify-me-please-42"
PHONE_ID = "106540352242922"
OWNER, FRIEND, STRANGER = "+15551234567", "+447700900123", "+33612345678"


def fixture(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def text_message(wamid: str, body: str = "Hello", sender: str = OWNER) -> Any:
    payload = fixture("cloud_text")
    value = payload["entry"][0]["changes"][0]["value"]
    value["contacts"][0]["wa_id"] = sender.lstrip("+")
    value["messages"][0].update({"id": wamid, "from": sender.lstrip("+"),
                                 "text": {"body": body}})
    return payload


@dataclass
class Rig:
    kith: Kith
    llm: FakeLLM
    graph: FakeGraph
    gateway: str
    client: httpx.AsyncClient

    @property
    def hook(self) -> str:
        return f"{self.gateway}/hooks/kith/whatsapp_cloud"

    async def post(self, payload: Any = None, *, raw: bytes | None = None,
                   signature: str | None = None, sign: bool = True) -> httpx.Response:
        body = raw if raw is not None else json.dumps(payload).encode()
        headers = {"content-type": "application/json"}
        if sign:
            headers["x-hub-signature-256"] = signature or self.graph.sign(body)
        return await self.client.post(self.hook, content=body, headers=headers)

    def inbox_rows(self) -> int:
        return int(self.kith.store.db.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM inbox").fetchone()[0])


@asynccontextmanager
async def serving(tmp_path: Path, fake_llm: tuple[FakeLLM, str], monkeypatch: pytest.MonkeyPatch,
                  memory: dict[str, Any] | None = None) -> AsyncIterator[Rig]:
    """A served Kith with the Cloud channel against the fake Graph API. ``memory``: the
    memory settings (default: learning off, for tests that count model calls)."""
    for name, value in (("T_WA_TOKEN", TOKEN), ("T_WA_SECRET", APP_SECRET),
                        ("T_WA_VERIFY", VERIFY)):
        monkeypatch.setenv(name, value)
    llm, llm_url = fake_llm
    graph = FakeGraph(TOKEN, app_secret=APP_SECRET, version="v22.0")
    async with serve_loopback(graph.app()) as api:
        write_bot(tmp_path / "bots", toml=f"""
            [channels.whatsapp_cloud]
            access_token_env = "T_WA_TOKEN"
            app_secret_env = "T_WA_SECRET"
            verify_token_env = "T_WA_VERIFY"
            phone_number_id = "{PHONE_ID}"
            api_base_url = "{api}"
            api_version = "v22.0"
            owners = ["{OWNER}"]
            allowed_numbers = ["{FRIEND}"]
        """)
        extra: dict[str, Any] = {} if memory is None else {"memory": memory}
        settings = make_settings(tmp_path, llm_url, llm={"timeout": 60.0}, **extra)
        async with (running_kith(settings) as kith, running_gateway(kith) as gateway,
                    httpx.AsyncClient(timeout=10.0) as client):
            yield Rig(kith, llm, graph, gateway, client)


@pytest.fixture
async def rig(tmp_path: Path, fake_llm: tuple[FakeLLM, str],
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    async with serving(tmp_path, fake_llm, monkeypatch) as served:
        yield served


async def test_verification_handshake(rig: Rig) -> None:
    ok = await rig.client.get(rig.hook, params={
        "hub.mode": "subscribe", "hub.verify_token": VERIFY, "hub.challenge": "1158201444"})
    assert ok.status_code == 200 and ok.text == "1158201444"
    for token in ("wrong", ""):
        bad = await rig.client.get(rig.hook, params={
            "hub.mode": "subscribe", "hub.verify_token": token, "hub.challenge": "x"})
        assert bad.status_code == 403 and "x" not in bad.text
    assert rig.inbox_rows() == 0


async def test_ack_is_fast_reply_sent_later_and_marked_read(rig: Rig) -> None:
    rig.llm.reply = "Hello from Kith"
    rig.llm.ttft = 1.5
    payload = fixture("cloud_text")
    wamid = payload["entry"][0]["changes"][0]["value"]["messages"][0]["id"]
    started = time.perf_counter()
    response = await rig.post(payload)
    assert response.status_code == 200 and time.perf_counter() - started < 1.0
    assert rig.graph.messages == []
    sent = await rig.graph.wait_messages(1)
    assert time.perf_counter() - started >= 1.5
    assert sent[0] == {"messaging_product": "whatsapp", "recipient_type": "individual",
                       "to": OWNER.lstrip("+"), "type": "text",
                       "text": {"preview_url": False, "body": "Hello from Kith"}}
    assert rig.graph.reads == [wamid]
    assert rig.graph.requests[0].path == f"/v22.0/{PHONE_ID}/messages"


async def test_thirty_second_model_still_acks_in_under_a_second(rig: Rig) -> None:
    rig.llm.ttft = 30.0
    started = time.perf_counter()
    response = await rig.post(text_message("wamid.slow"))
    assert response.status_code == 200 and time.perf_counter() - started < 1.0
    status = await rig.kith.store.inbox_status("whatsapp_cloud:kith:wamid.slow")
    assert status is not None and status.value == "pending"
    await rig.kith.dispatcher.close(grace=0.2)
    assert rig.graph.messages == []


async def test_same_wamid_twenty_times_one_reply(rig: Rig) -> None:
    rig.llm.reply = "just once"
    payload = text_message("wamid.dup")
    responses = await asyncio.gather(*(rig.post(payload) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    await rig.kith.dispatcher.join()
    assert [m["text"]["body"] for m in rig.graph.messages] == ["just once"]


async def test_bad_signatures_are_refused_and_leave_no_trace(rig: Rig) -> None:
    body = json.dumps(text_message("wamid.evil")).encode()
    good = rig.graph.sign(body)
    reserialized = json.dumps(json.loads(body), separators=(",", ":")).encode()
    attempts = [
        await rig.post(raw=body.replace(b"Hello", b"Jello"), signature=good),  # tampered
        await rig.post(raw=reserialized, signature=good),  # same JSON, other bytes
        await rig.post(raw=body, sign=False),  # missing header
        await rig.post(raw=body, signature="sha256=" + "0" * 64),
        await rig.post(raw=body, signature=good.replace("sha256=", "sha1=")),
    ]
    assert [r.status_code for r in attempts] == [401] * 5
    assert rig.inbox_rows() == 0 and rig.llm.chat_requests == []
    assert (await rig.post(raw=b"{not json")).status_code == 400
    assert rig.inbox_rows() == 0


async def test_statuses_and_reactions_are_ignored(rig: Rig) -> None:
    for name in ("cloud_status", "cloud_reaction"):
        response = await rig.post(fixture(name))
        assert response.status_code == 200
    assert rig.inbox_rows() == 0


async def test_every_kind_becomes_an_inbound(rig: Rig) -> None:
    names = ("cloud_text", "cloud_image", "cloud_audio", "cloud_document",
             "cloud_button_reply", "cloud_list_reply", "cloud_location")
    for name in names:
        assert (await rig.post(fixture(name))).status_code == 200
    await rig.kith.dispatcher.join()
    assert rig.inbox_rows() == len(names)
    assert len(rig.graph.messages) == len(names)


async def test_long_reply_is_split_under_4096(rig: Rig) -> None:
    words = " ".join(f"longword{i:06d}" for i in range(600))  # 8.999 chars
    rig.llm.reply = words
    await rig.post(text_message("wamid.long"))
    await rig.kith.dispatcher.join()
    bodies = [m["text"]["body"] for m in rig.graph.messages]
    assert len(bodies) == 3 and all(len(b) <= 4096 for b in bodies)
    assert " ".join(bodies) == words


async def test_429_and_5xx_are_retried(rig: Rig) -> None:
    rig.llm.reply = "made it"
    rig.graph.inject(Fault(429, code=130429, retry_after=0))
    rig.graph.inject(Fault(500, code=1))
    await rig.post(text_message("wamid.retry"))
    await rig.kith.dispatcher.join()
    assert [m["text"]["body"] for m in rig.graph.messages] == ["made it"]


async def test_5xx_three_times_then_beyond_one_call_still_one_reply_one_model_call(
        rig: Rig) -> None:
    rig.llm.reply = "arrived once"
    for _ in range(3):
        rig.graph.inject(Fault(500, code=1))
    await rig.post(text_message("wamid.three"))
    await rig.kith.dispatcher.join()
    for _ in range(6):  # more than one delivery's attempts: re-delivered from the store
        rig.graph.inject(Fault(503, code=2))
    await rig.post(text_message("wamid.six"))
    await rig.kith.dispatcher.join()
    assert [m["text"]["body"] for m in rig.graph.messages] == ["arrived once", "arrived once"]
    assert len([r for r in rig.llm.chat_requests if r.get("stream")]) == 2
    state = await rig.kith.store.delivery("whatsapp_cloud:kith:wamid.six")
    assert state is not None and state.status.value == "delivered" and state.platform_ids


async def test_window_error_is_logged_and_owner_told(rig: Rig) -> None:
    rig.graph.inject(Fault(400, code=131047))
    with capture_logs() as logs:
        await rig.post(text_message("wamid.late", sender=FRIEND))
        await rig.kith.dispatcher.join()
        await rig.graph.wait_messages(1)
    closed = [e for e in logs if e["event"] == "whatsapp_window_closed"]
    assert closed and closed[0]["conversation"] == f"kith/whatsapp_cloud/{FRIEND}"
    assert closed[0]["code"] == 131047 and closed[0]["log_level"] == "error"
    assert rig.graph.messages[0]["to"] == OWNER.lstrip("+")
    assert FRIEND in rig.graph.messages[0]["text"]["body"]


async def test_window_error_from_status_webhook_is_logged(rig: Rig) -> None:
    with capture_logs() as logs:
        assert (await rig.post(fixture("cloud_status_window"))).status_code == 200
    closed = [e for e in logs if e["event"] == "whatsapp_window_closed"]
    assert closed and closed[0]["conversation"] == f"kith/whatsapp_cloud/{OWNER}"
    assert rig.inbox_rows() == 0


async def test_unknown_number_gets_one_pairing_prompt(rig: Rig) -> None:
    for n in range(2):
        await rig.post(text_message(f"wamid.stranger{n}", sender=STRANGER))
    await rig.kith.dispatcher.join()
    assert len(rig.graph.messages) == 1 and "code" in rig.graph.messages[0]["text"]["body"]
    assert rig.llm.chat_requests == []


async def test_media_is_fetched_with_the_access_token(rig: Rig) -> None:
    api = rig.kith.channels[("kith", "whatsapp_cloud")]
    assert isinstance(api, CloudWhatsApp)
    media_id = rig.graph.add_media(b"OggS-voice", "audio/ogg")
    fetched = await api.fetch_media(Attachment("audio", media_id), 10**6)
    assert (fetched.data, fetched.mime_type) == (b"OggS-voice", "audio/ogg")
    assert all(r.headers["authorization"] == f"Bearer {TOKEN}" for r in rig.graph.requests)
    with pytest.raises(MediaUnavailable):
        await api.fetch_media(Attachment("audio", "../../etc/passwd"), 10**6)



async def test_no_credential_in_the_debug_log(debug_logs: io.StringIO, rig: Rig) -> None:
    """Canary: the access token and app secret are in no log line, at DEBUG."""
    rig.llm.reply = "Hello from Kith"
    assert (await rig.post(fixture("cloud_text"))).status_code == 200
    await rig.graph.wait_messages(1)
    assert_clean(debug_logs, TOKEN, APP_SECRET, VERIFY)
