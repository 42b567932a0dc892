"""Fuzz of the MIME parser and every webhook decoder, each input on a time budget.

Hypothesis' ``deadline`` fails any single input that takes longer than the budget; every
decoder must return (a value, ``None`` or a refusal) and never raise. The inputs are built
around what each decoder looks at (headers, boundaries, nesting; the JSON/form keys it
reads) mixed with arbitrary values, so they go deep rather than bouncing off the first check.
"""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters import web
from adapters.email.draft import delivery, forwarded_quote, recipient
from adapters.email.parse import mime_parts, parse_mail
from adapters.matrix.decode import RoomInfo
from adapters.matrix.decode import to_inbound as matrix_inbound
from adapters.telegram.decode import Policy as TelegramPolicy
from adapters.telegram.decode import to_inbound as telegram_inbound
from adapters.whatsapp import cloud_decode, twilio_decode
from adapters.whatsapp.common import Policy
from adapters.whatsapp.signatures import hub_valid, twilio_valid
from core.events import Inbound
from core.quoting import render_message

BUDGET = timedelta(milliseconds=1500)  # per input, on a shared 2-core machine
FUZZ = settings(deadline=BUDGET, max_examples=150, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

# -- MIME --------------------------------------------------------------------------------

_text = st.text(st.characters(codec="utf-8"), max_size=40) | st.text(max_size=20)
_header_names = st.sampled_from(["From", "To", "Cc", "Subject", "Date", "Message-ID",
                                 "References", "Content-Type", "Content-Transfer-Encoding",
                                 "Content-Disposition", "MIME-Version", "Reply-To", "X-A"])
_addresses = st.sampled_from([
    '"attacker@evil.test" <alice@partner.example>', "alice@partner.example (A)",
    "Alice Smith alice@partner.example", "=?utf-8?q?x=40y?= <a@b.example>", "<>", '"',
    "a@b, c@d", "José <j@x.example>", "undisclosed-recipients:;", "@", "<a@[1.2.3.4]>"])
_ctypes = st.sampled_from([
    'multipart/mixed; boundary="b1"', "multipart/alternative; boundary=b2",
    "message/rfc822", "text/plain; charset=utf-8", "text/plain; charset=x-unknown",
    "text/html", 'multipart/mixed; boundary=""', "application/octet-stream; name=a.pdf"])


@st.composite
def mime(draw: st.DrawFn, depth: int = 0) -> bytes:
    lines = []
    for _ in range(draw(st.integers(0, 6))):
        name = draw(_header_names)
        value = draw(_ctypes if name == "Content-Type" else _addresses if name in
                     ("From", "To", "Cc", "Reply-To") else _text)
        lines.append(f"{name}: {value}")
    body = draw(st.sampled_from([
        "", "---------- Forwarded message ---------\nFrom: {a}\nSubject: s\n\nhello",
        "On Mon, 1 Jan 2026, {a} wrote:\n> quoted\n> more", "Begin forwarded message:\n\n"
        "From: {a}\nDate: x\n\nbody", "-----Original Message-----\nFrom: {a}\nSent: x\n"]))
    body = body.format(a=draw(_addresses)) + draw(_text)
    if depth < 2 and draw(st.booleans()):
        inner = [draw(mime(depth + 1)) for _ in range(draw(st.integers(0, 3)))]
        boundary = draw(st.sampled_from(["b1", "b2", "zz"]))
        lines.append(f'Content-Type: multipart/mixed; boundary="{boundary}"')
        parts = b"".join(f"--{boundary}\r\n".encode() + p + b"\r\n" for p in inner)
        tail = draw(st.sampled_from([f"--{boundary}--\r\n", "", f"--{boundary}"]))
        return ("\r\n".join(lines) + "\r\n\r\n").encode() + parts + tail.encode()
    raw = ("\r\n".join(lines) + "\r\n\r\n" + body).encode("utf-8", "surrogatepass")
    return raw + draw(st.binary(max_size=30))


@FUZZ
@given(st.one_of(mime(), st.binary(max_size=2000)))
def test_mime_parser_never_raises_within_budget(raw: bytes) -> None:
    assert mime_parts(raw) >= 1
    mail = parse_mail(raw)
    render_message(mail.note, (forwarded_quote(mail.forwarded, 2000),), "b0")
    recipient(mail.forwarded.sender)
    message, _ = delivery(mail, "owner@example.com", "kith@kith.example", "Draft.", ok=True,
                          ready=True)
    assert message["To"] == "owner@example.com"


# -- webhook decoders ------------------------------------------------------------------------

_scalar = st.none() | st.booleans() | st.integers(-2**63, 2**63) | st.floats() | _text
_json = st.recursive(_scalar, lambda inner: st.lists(inner, max_size=4)
                     | st.dictionaries(_text, inner, max_size=4), max_leaves=20)


def _shaped(keys: dict[str, Any]) -> st.SearchStrategy[Any]:
    """Dicts with the keys a decoder reads (values arbitrary or well-typed), or any JSON."""
    return st.fixed_dictionaries({}, optional={k: v | _json for k, v in keys.items()}) | _json


_tg_user = _shaped({"id": st.integers(-5, 2000), "first_name": _text, "is_bot": st.booleans()})
_tg_message = _shaped({
    "message_id": st.integers(0, 10), "text": _text, "caption": _text, "from": _tg_user,
    "chat": _shaped({"id": st.integers(-2, 2000), "type": st.sampled_from(
        ["private", "group", "supergroup", "channel"])}),
    "forward_origin": _shaped({"type": _text, "sender_user": _tg_user, "chat": _json}),
    "reply_to_message": _shaped({"from": _tg_user, "text": _text, "message_id": _json}),
    "quote": _shaped({"text": _text}), "external_reply": _json, "entities": _json,
    "photo": _json, "forward_from": _tg_user, "forward_sender_name": _text,
})
TG = TelegramPolicy(bot="kith", bot_id=999, username="kith_bot", owners=frozenset({1001}),
                    allowed_groups=frozenset({-2}))


@FUZZ
@given(_shaped({"update_id": st.integers(), "message": _tg_message}))
def test_telegram_decoder(update: Any) -> None:
    _check(telegram_inbound(update, TG))


_forms = st.dictionaries(st.sampled_from([
    "MessageSid", "From", "To", "Body", "NumMedia", "MediaUrl0", "MediaContentType0",
    "ProfileName", "OriginalRepliedMessageSid", "ErrorCode", "Latitude", "Longitude"]) | _text,
    _text | st.just("whatsapp:+15551234567") | st.just("SM" + "a" * 32), max_size=8)
WA = Policy(owners=("+15551234567",))


@FUZZ
@given(_forms, st.text(max_size=40))
def test_twilio_decoder_and_signature(form: dict[str, str], signature: str) -> None:
    _check(twilio_decode.to_inbound("kith", form, WA))
    twilio_valid("secret", "https://kith.example/hooks/kith/whatsapp", form, signature, None,
                 None)


_cloud_message = _shaped({"id": _text, "from": st.just("15551234567") | _text,
                          "type": st.sampled_from(["text", "image", "location", "button"]),
                          "text": _shaped({"body": _text}), "context": _json})
_cloud = _shaped({"entry": st.lists(_shaped({"changes": st.lists(_shaped({"value": _shaped({
    "messages": st.lists(_cloud_message, max_size=3), "contacts": _json,
    "statuses": _json})}), max_size=2)}), max_size=2)})


@FUZZ
@given(_cloud, st.binary(max_size=200), st.text(max_size=80))
def test_cloud_decoder_and_signature(payload: Any, body: bytes, header: str) -> None:
    for inbound in cloud_decode.to_inbounds("kith", payload, WA):
        _check(inbound)
    cloud_decode.window_errors(payload)
    hub_valid("secret", body, header)
    hub_valid("secret", json.dumps(payload).encode(), "sha256=" + header)


ROOM = RoomInfo(bot="kith", user_id="@kith:x.example", owners=("@me:x.example",))


@FUZZ
@given(_shaped({"type": st.just("m.room.message"), "event_id": _text, "sender": _text,
                "room_id": _text, "origin_server_ts": _json,
                "content": _shaped({"msgtype": _text, "body": _text, "m.relates_to": _json})}))
def test_matrix_decoder(event: Any) -> None:
    _check(matrix_inbound(event, ROOM))


@FUZZ
@given(_shaped({"session": st.just("session-0001") | _text, "text": _text,
                "id": st.just("abcdefgh") | _text}))
def test_web_decoder(body: Any) -> None:
    decoded = web.to_inbound("kith", body)
    if not isinstance(decoded, str):
        _check(decoded)


def _check(inbound: Inbound | None) -> None:
    if inbound is None:
        return
    for text in (inbound.text, inbound.id, inbound.sender.display_name,
                 *(q.text for q in inbound.quoted)):
        text.encode("utf-8")  # valid Unicode whatever came in
