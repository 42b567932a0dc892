"""Pure parts: phone numbers, decoders on recorded shapes, splitting, signatures, fuzzing."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.whatsapp import cloud_decode, twilio_decode
from adapters.whatsapp.common import Policy
from adapters.whatsapp.phone import to_e164
from adapters.whatsapp.signatures import hub_signature, hub_valid, twilio_valid
from core.events import Trust

FIXTURES = Path(__file__).parents[2] / "fixtures" / "whatsapp"
POLICY = Policy(owners=("+15551234567",), allowed=("+447700900123",))


def form(name: str) -> dict[str, str]:
    text = (FIXTURES / f"{name}.form").read_text().strip()
    return dict(parse_qsl(text, keep_blank_values=True))


def cloud(name: str) -> Any:
    return json.loads((FIXTURES / f"{name}.json").read_text())


def test_e164_same_person_across_providers() -> None:
    assert to_e164("whatsapp:+15551234567") == "+15551234567"  # Twilio From
    assert to_e164("15551234567") == "+15551234567"  # Cloud wa_id
    assert to_e164("+1 (555) 123-4567") == "+15551234567"
    assert to_e164("whatsapp:+44 7700 900123") == "+447700900123"
    for bad in ("", "whatsapp:", "hello", "+1", None, 12, "+" + "9" * 40):
        assert to_e164(bad) is None


def test_same_person_on_both_providers() -> None:
    tw = twilio_decode.to_inbound("kith", form("twilio_text"), Policy())
    cl = cloud_decode.to_inbound("kith", cloud("cloud_text"), Policy())
    assert tw is not None and cl is not None
    assert tw.sender.platform_id == cl.sender.platform_id == "+15551234567"
    assert tw.trust is cl.trust is Trust.UNKNOWN  # default deny


def test_twilio_text() -> None:
    inbound = twilio_decode.to_inbound("kith", form("twilio_text"), POLICY)
    assert inbound is not None
    assert inbound.id == "whatsapp:kith:SM" + f"{1:032x}"
    assert inbound.platform_message_id == "SM" + f"{1:032x}"
    assert inbound.conversation.channel == "whatsapp"
    assert inbound.conversation.chat_id == "+15551234567"
    assert inbound.sender.platform_id == "+15551234567"
    assert inbound.sender.display_name == "Alice"
    assert inbound.text == "Hello from WhatsApp"
    assert inbound.trust is Trust.OWNER and not inbound.is_group


def test_twilio_media_button_location_status() -> None:
    media = twilio_decode.to_inbound("kith", form("twilio_media"), POLICY)
    assert media is not None and media.text == "Look at this"
    assert [(a.kind, a.mime_type) for a in media.attachments] == [
        ("image", "image/jpeg"), ("document", "application/pdf")]
    assert media.attachments[0].ref.startswith("https://api.twilio.com/2010-04-01/Accounts/")
    button = twilio_decode.to_inbound("kith", form("twilio_button"), POLICY)
    assert button is not None and button.text == "Yes please"
    assert button.reply_to == "SM" + f"{99:032x}"
    where = twilio_decode.to_inbound("kith", form("twilio_location"), POLICY)
    assert where is not None and where.attachments[0].kind == "location"
    assert where.attachments[0].ref == "geo:52.520008,13.404954"
    assert "Alexanderplatz" in where.text
    assert twilio_decode.to_inbound("kith", form("twilio_status"), POLICY) is None


def test_twilio_trust_default_deny() -> None:
    stranger = {**form("twilio_text"), "From": "whatsapp:+33612345678"}
    inbound = twilio_decode.to_inbound("kith", stranger, POLICY)
    assert inbound is not None and inbound.trust is Trust.UNKNOWN
    friend = {**form("twilio_text"), "From": "whatsapp:+447700900123"}
    inbound = twilio_decode.to_inbound("kith", friend, POLICY)
    assert inbound is not None and inbound.trust is Trust.ALLOWED
    sms = {**form("twilio_text"), "From": "+15551234567"}  # plain SMS: not WhatsApp
    assert twilio_decode.to_inbound("kith", sms, POLICY) is None


def test_twilio_window_status() -> None:
    failed = {**form("twilio_status"), "MessageStatus": "failed", "SmsStatus": "failed",
              "ErrorCode": "63016"}
    assert twilio_decode.status_error(failed) == "63016"
    assert twilio_decode.status_error(form("twilio_status")) is None
    assert twilio_decode.status_error(form("twilio_text")) is None


def test_cloud_message_kinds() -> None:
    text = cloud_decode.to_inbound("kith", cloud("cloud_text"), POLICY)
    assert text is not None and text.text == "Hello from the Cloud API"
    assert text.id.startswith("whatsapp_cloud:kith:wamid.")
    assert text.platform_message_id is not None and text.platform_message_id.startswith("wamid.")
    assert text.id == f"whatsapp_cloud:kith:{text.platform_message_id}"  # the one mark_read uses
    assert text.conversation.chat_id == text.sender.platform_id == "+15551234567"
    assert text.sender.display_name == "Alice" and text.trust is Trust.OWNER
    image = cloud_decode.to_inbound("kith", cloud("cloud_image"), POLICY)
    assert image is not None and image.text == "My cat"
    assert image.attachments[0].kind == "image" and image.attachments[0].ref == "1003383421387256"
    audio = cloud_decode.to_inbound("kith", cloud("cloud_audio"), POLICY)
    assert audio is not None and audio.text == "[sent an audio]"
    assert audio.attachments[0].mime_type.startswith("audio/ogg")
    doc = cloud_decode.to_inbound("kith", cloud("cloud_document"), POLICY)
    assert doc is not None and doc.attachments[0].name == "invoice-2026-11.pdf"
    button = cloud_decode.to_inbound("kith", cloud("cloud_button_reply"), POLICY)
    assert button is not None and button.text == "Yes, book it"
    assert button.reply_to is not None and button.reply_to.startswith("wamid.")
    listed = cloud_decode.to_inbound("kith", cloud("cloud_list_reply"), POLICY)
    assert listed is not None and listed.text == "Tuesday 10:00"
    where = cloud_decode.to_inbound("kith", cloud("cloud_location"), POLICY)
    assert where is not None and where.attachments[0].ref == "geo:37.483307,-122.148981"
    assert "Meta Headquarters" in where.text


def test_cloud_ignored_and_window() -> None:
    for name in ("cloud_status", "cloud_reaction", "cloud_status_window"):
        assert cloud_decode.to_inbounds("kith", cloud(name), POLICY) == []
    assert cloud_decode.window_errors(cloud("cloud_status_window")) == [("+15551234567", 131047)]
    assert cloud_decode.window_errors(cloud("cloud_status")) == []


def test_cloud_other_business_number_is_skipped() -> None:
    body = cloud("cloud_text")
    assert cloud_decode.to_inbounds("kith", body, POLICY, "106540352242922")
    assert cloud_decode.to_inbounds("kith", body, POLICY, "999999999999") == []


def test_cloud_batch_keeps_order() -> None:
    body = cloud("cloud_text")
    value = body["entry"][0]["changes"][0]["value"]
    first = value["messages"][0]
    value["messages"] = [first, {**first, "id": "wamid.second", "text": {"body": "again"}}]
    found = cloud_decode.to_inbounds("kith", body, POLICY)
    assert [i.text for i in found] == ["Hello from the Cloud API", "again"]


def test_signatures() -> None:
    url = "https://kith.example.com/hooks/kith/whatsapp"
    params = form("twilio_text")
    from twilio.request_validator import RequestValidator

    good = RequestValidator("tok3n").compute_signature(url, params)
    assert twilio_valid("tok3n", url, params, good)
    assert not twilio_valid("tok3n", url + "x", params, good)
    assert not twilio_valid("tok3n", url, {**params, "Body": "evil"}, good)
    assert not twilio_valid("tok3n", url, params, None)
    assert not twilio_valid("other", url, params, good)
    # HMAC-SHA256 mode: a SharedKey secret, named in X-Twilio-Webhooks-Signature-Settings
    header = "key=webhooks_sharedkey_1,algorithm=HMAC_SHA256"
    sha = RequestValidator("shared").compute_signature(url, params, algorithm="HMAC_SHA256")
    assert twilio_valid("tok3n", url, params, sha, header, "shared")
    assert not twilio_valid("tok3n", url, params, sha, header, None)
    assert not twilio_valid("tok3n", url, params, sha, header, "wrong")
    body = b'{"object":"whatsapp_business_account"}'
    assert hub_valid("s3cret", body, hub_signature("s3cret", body))
    assert not hub_valid("s3cret", body + b" ", hub_signature("s3cret", body))
    assert not hub_valid("s3cret", body, None)
    assert not hub_valid("s3cret", body, "sha1=abc")
    assert not hub_valid("s3cret", body, "sha256=\u00e9")


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                  max_size=5),
    max_leaves=30,
)
_keys = st.sampled_from(["From", "Body", "MessageSid", "NumMedia", "MediaUrl0",
                         "MediaContentType0", "Latitude", "Longitude", "SmsStatus",
                         "MessageStatus", "ButtonText", "ProfileName", "ErrorCode"])


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(_keys | st.text(max_size=10), st.text(max_size=40), max_size=12))
def test_twilio_decoder_never_raises(data: dict[str, str]) -> None:
    base = form("twilio_media")
    for candidate in (data, {**base, **data}):
        twilio_decode.to_inbound("kith", candidate, POLICY)
        twilio_decode.status_error(candidate)


def _plant(payload: Any) -> Any:
    """Put arbitrary JSON where a message would be, so the fuzzer reaches deep code."""
    body = cloud("cloud_text")
    body["entry"][0]["changes"][0]["value"]["messages"][0].update(
        payload if isinstance(payload, dict) else {"text": payload})
    return body


@settings(max_examples=300, deadline=None)
@given(_json, st.sampled_from(["text", "image", "interactive", "location", "button",
                               "reaction", "audio", None]))
def test_cloud_decoder_never_raises(payload: Any, kind: str | None) -> None:
    for candidate in (payload, _plant(payload), _plant({"type": kind, str(kind): payload})):
        cloud_decode.to_inbounds("kith", candidate, POLICY)
        cloud_decode.window_errors(candidate)
