"""Twilio WhatsApp end to end: signed webhooks into the real gateway, replies to a fake Twilio."""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import parse_qsl, urlencode

import httpx
import pytest
from structlog.testing import capture_logs

from adapters.whatsapp.twilio_channel import TwilioWhatsApp
from bots.runtime import Kith
from core.events import Attachment
from core.media import MediaUnavailable
from core.settings import ConfigError
from tests.canary import assert_clean
from tests.fakes.llm import FakeLLM
from tests.fakes.loopback import serve_loopback
from tests.fakes.twilio import FakeTwilio, Fault
from tests.support import make_settings, running_gateway, running_kith, write_bot

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp"
SID = "AC" + "0123456789abcdef" * 2
TOKEN = "twilio-test-token-0f1e2d3c"
PUBLIC = "https://kith.example.com"
OWNER, FRIEND, STRANGER = "+15551234567", "+447700900123", "+33612345678"


def fixture(name: str, **changes: str) -> dict[str, str]:
    text = (FIXTURES / f"{name}.form").read_text().strip()
    return {**dict(parse_qsl(text, keep_blank_values=True)), **changes}


def sid(n: int) -> str:
    return f"SM{0xABC000 + n:032x}"


@dataclass
class Rig:
    kith: Kith
    llm: FakeLLM
    twilio: FakeTwilio
    gateway: str
    client: httpx.AsyncClient

    @property
    def hook(self) -> str:
        return f"{self.gateway}/hooks/kith/whatsapp"

    @property
    def signed_url(self) -> str:
        return f"{PUBLIC}/hooks/kith/whatsapp"

    async def post(self, form: dict[str, str], *, url: str | None = None,
                   signature: str | None = None, sign: bool = True,
                   body: str | None = None) -> httpx.Response:
        headers = {"content-type": "application/x-www-form-urlencoded"}
        if sign:
            headers["x-twilio-signature"] = signature or self.twilio.sign(
                url or self.signed_url, form)
        return await self.client.post(self.hook, content=body or urlencode(form),
                                      headers=headers)

    def inbox_rows(self) -> int:
        return int(self.kith.store.db.execute(  # type: ignore[attr-defined]
            "SELECT count(*) FROM inbox").fetchone()[0])


@pytest.fixture
async def rig(tmp_path: Path, fake_llm: tuple[FakeLLM, str],
              monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Rig]:
    monkeypatch.setenv("TEST_TWILIO_SID", SID)
    monkeypatch.setenv("TEST_TWILIO_TOKEN", TOKEN)
    llm, llm_url = fake_llm
    twilio = FakeTwilio(SID, TOKEN)
    async with serve_loopback(twilio.app()) as api:
        write_bot(tmp_path / "bots", toml=f"""
            [channels.whatsapp]
            account_sid_env = "TEST_TWILIO_SID"
            auth_token_env = "TEST_TWILIO_TOKEN"
            from_number = "+14155238886"
            api_base_url = "{api}"
            owners = ["{OWNER}"]
            allowed_numbers = ["{FRIEND}"]
        """)
        settings = make_settings(tmp_path, llm_url, gateway={"public_url": PUBLIC},
                                 llm={"timeout": 60.0})
        async with running_kith(settings) as kith, running_gateway(kith) as gateway:
            twilio.callback_target = f"{gateway}/hooks/kith/whatsapp"
            async with httpx.AsyncClient(timeout=10.0) as client:
                yield Rig(kith, llm, twilio, gateway, client)


async def test_ack_is_fast_and_reply_comes_later_by_rest(rig: Rig) -> None:
    rig.llm.reply = "Hi Alice!"
    rig.llm.ttft = 1.5  # slower than the acknowledgement may ever be
    started = time.perf_counter()
    response = await rig.post(fixture("twilio_text"))
    ack = time.perf_counter() - started
    assert response.status_code == 200 and "<Response/>" in response.text
    assert response.headers["content-type"].startswith("application/xml")
    assert ack < 1.0 and rig.twilio.messages == []
    sent = await rig.twilio.wait_messages(1)
    assert time.perf_counter() - started >= 1.5
    assert sent[0]["To"] == f"whatsapp:{OWNER}" and sent[0]["From"] == "whatsapp:+14155238886"
    assert sent[0]["Body"] == "Hi Alice!"
    assert sent[0]["StatusCallback"] == f"{PUBLIC}/hooks/kith/whatsapp"
    prompt = rig.llm.chat_requests[0]["messages"]
    assert prompt[-1]["content"].endswith("Hello from WhatsApp")


async def test_thirty_second_model_still_acks_in_under_a_second(rig: Rig) -> None:
    rig.llm.ttft = 30.0
    form = fixture("twilio_text", MessageSid=sid(30), SmsMessageSid=sid(30), SmsSid=sid(30))
    started = time.perf_counter()
    response = await rig.post(form)
    assert response.status_code == 200 and time.perf_counter() - started < 1.0
    status = await rig.kith.store.inbox_status(f"whatsapp:kith:{sid(30)}")
    assert status is not None and status.value == "pending"  # durable before the ack
    await rig.kith.dispatcher.close(grace=0.2)  # don't wait the 30 s out: it resumes later
    assert rig.twilio.messages == []


async def test_same_message_sid_twenty_times_one_reply(rig: Rig) -> None:
    rig.llm.reply = "once"
    form = fixture("twilio_text")
    responses = await asyncio.gather(*(rig.post(form) for _ in range(20)))
    assert {r.status_code for r in responses} == {200}
    await rig.kith.dispatcher.join()
    assert [m["Body"] for m in rig.twilio.messages] == ["once"]


async def test_bad_signatures_are_refused_and_leave_no_trace(rig: Rig) -> None:
    form = fixture("twilio_text")
    good = rig.twilio.sign(rig.signed_url, form)
    tampered = urlencode({**form, "Body": "transfer all my money"})
    attempts = [
        await rig.post(form, signature=good, body=tampered),  # tampered body
        await rig.post(form, url=rig.hook),  # signed for the loopback URL (proxy mismatch)
        await rig.post(form, sign=False),  # missing header
        await rig.post(form, signature="bm90IGEgc2lnbmF0dXJl"),  # garbage
    ]
    forwarded = await rig.client.post(  # X-Forwarded-* never changes the URL we check
        rig.hook, content=urlencode(form),
        headers={"content-type": "application/x-www-form-urlencoded",
                 "x-twilio-signature": rig.twilio.sign("https://evil.example/x", form),
                 "x-forwarded-host": "evil.example", "x-forwarded-proto": "https"})
    assert [r.status_code for r in [*attempts, forwarded]] == [403] * 5
    assert rig.inbox_rows() == 0 and rig.llm.chat_requests == []
    assert (await rig.client.get(rig.hook)).status_code == 405


async def test_status_callbacks_are_ignored(rig: Rig) -> None:
    response = await rig.post(fixture("twilio_status"))
    assert response.status_code == 200 and "<Response/>" in response.text
    assert rig.inbox_rows() == 0


async def test_long_reply_is_split_under_1600(rig: Rig) -> None:
    words = " ".join(f"longword{i:06d}" for i in range(300))  # 300 words, 4.5k chars
    rig.llm.reply = words
    await rig.post(fixture("twilio_text"))
    await rig.kith.dispatcher.join()
    bodies = [m["Body"] for m in rig.twilio.messages]
    assert len(bodies) == 3 and all(len(b) <= 1600 for b in bodies)
    assert " ".join(bodies) == words


async def test_unknown_number_gets_one_pairing_prompt(rig: Rig) -> None:
    for n in range(2):
        await rig.post(fixture("twilio_text", From=f"whatsapp:{STRANGER}", MessageSid=sid(n),
                               WaId=STRANGER[1:]))
    await rig.kith.dispatcher.join()
    assert len(rig.twilio.messages) == 1 and "code" in rig.twilio.messages[0]["Body"]
    assert rig.twilio.messages[0]["To"] == f"whatsapp:{STRANGER}"
    assert rig.llm.chat_requests == []


async def test_429_and_5xx_are_retried(rig: Rig) -> None:
    rig.llm.reply = "made it"
    rig.twilio.inject(Fault(429, code=20429, retry_after=0))
    rig.twilio.inject(Fault(503))
    await rig.post(fixture("twilio_text"))
    await rig.kith.dispatcher.join()
    assert [m["Body"] for m in rig.twilio.messages] == ["made it"]
    assert len(rig.twilio.requests) == 3


async def test_5xx_three_times_then_beyond_one_call_still_one_reply_one_model_call(
        rig: Rig) -> None:
    rig.llm.reply = "arrived once"
    for _ in range(3):
        rig.twilio.inject(Fault(500))
    await rig.post(fixture("twilio_text", MessageSid=sid(3), SmsMessageSid=sid(3),
                           SmsSid=sid(3)))
    await rig.kith.dispatcher.join()
    for _ in range(6):  # more than one delivery's attempts: re-delivered from the store
        rig.twilio.inject(Fault(503))
    await rig.post(fixture("twilio_text", MessageSid=sid(6), SmsMessageSid=sid(6),
                           SmsSid=sid(6)))
    await rig.kith.dispatcher.join()
    assert [m["Body"] for m in rig.twilio.messages] == ["arrived once", "arrived once"]
    assert len([r for r in rig.llm.chat_requests if r.get("stream")]) == 2
    state = await rig.kith.store.delivery(f"whatsapp:kith:{sid(6)}")
    assert state is not None and state.status.value == "delivered"
    assert state.platform_ids[0].startswith("SM")


async def test_window_error_is_logged_and_owner_told(rig: Rig) -> None:
    rig.twilio.inject(Fault(400, code=63016))  # synchronous form of the error
    with capture_logs() as logs:
        await rig.post(fixture("twilio_text", From=f"whatsapp:{FRIEND}", WaId=FRIEND[1:]))
        await rig.kith.dispatcher.join()
        await rig.twilio.wait_messages(1)
    closed = [e for e in logs if e["event"] == "whatsapp_window_closed"]
    assert closed and closed[0]["conversation"] == f"kith/whatsapp/{FRIEND}"
    assert closed[0]["log_level"] == "error"
    notice = rig.twilio.messages[0]
    assert notice["To"] == f"whatsapp:{OWNER}" and FRIEND in notice["Body"]


async def test_window_error_by_status_callback(rig: Rig) -> None:
    rig.twilio.inject(Fault(201, code=63016, via_callback=True))  # as Twilio really does
    with capture_logs() as logs:
        await rig.post(fixture("twilio_text", From=f"whatsapp:{FRIEND}", WaId=FRIEND[1:]))
        await rig.kith.dispatcher.join()
        await rig.twilio.wait_messages(1)  # the notice to the owner
    assert rig.twilio.callbacks == [200]
    closed = [e for e in logs if e["event"] == "whatsapp_window_closed"]
    assert closed and closed[0]["conversation"] == f"kith/whatsapp/{FRIEND}"
    assert rig.twilio.messages[0]["To"] == f"whatsapp:{OWNER}"
    assert rig.inbox_rows() == 1  # the callback itself recorded nothing


async def test_media_is_fetched_with_account_credentials(rig: Rig) -> None:
    api = rig.kith.channels[("kith", "whatsapp")]
    assert isinstance(api, TwilioWhatsApp)
    url = rig.twilio.media_url(api.config.api_base_url, "MM" + "1" * 32, b"\xff\xd8jpeg",
                               "image/jpeg")
    form = fixture("twilio_media", NumMedia="1", MediaUrl0=url)
    await rig.post(form)
    await rig.kith.dispatcher.join()
    inbound = (await rig.kith.store.pending()) or None
    assert inbound is None  # answered
    fetched = await api.fetch_media(Attachment("image", url, mime_type="image/jpeg"), 10**6)
    assert (fetched.data, fetched.mime_type) == (b"\xff\xd8jpeg", "image/jpeg")
    with pytest.raises(MediaUnavailable):
        await api.fetch_media(Attachment("image", "https://evil.example/x.jpg"), 10**6)


async def test_public_url_is_required(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TEST_TWILIO_SID", SID)
    monkeypatch.setenv("TEST_TWILIO_TOKEN", TOKEN)
    write_bot(tmp_path / "bots", toml="""
        [channels.whatsapp]
        account_sid_env = "TEST_TWILIO_SID"
        auth_token_env = "TEST_TWILIO_TOKEN"
        from_number = "+14155238886"
    """)
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="public_url"):
        async with running_kith(settings):
            pass


async def test_no_credential_in_the_debug_log(debug_logs: io.StringIO, rig: Rig) -> None:
    """Canary: the auth token signs every request and is in no log line, at DEBUG."""
    rig.llm.reply = "Hi Alice!"
    assert (await rig.post(fixture("twilio_text"))).status_code == 200
    await rig.twilio.wait_messages(1)
    assert_clean(debug_logs, TOKEN)
