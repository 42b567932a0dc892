"""Twilio's WhatsApp webhook (form fields) → :class:`Inbound`. Pure: no I/O, never raises."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from adapters.kit import attribution
from adapters.whatsapp.common import Policy, describe
from adapters.whatsapp.phone import to_e164
from core.events import (
    Addressed,
    Attachment,
    ChatKind,
    ConversationKey,
    Inbound,
    Origin,
    Quoted,
    Sender,
)
from core.ids import InboundId, PlatformMessageId

CHANNEL = "whatsapp"
MAX_MEDIA = 10  # Twilio sends at most 10 media per message
_SID = re.compile(r"^(SM|MM)[0-9a-fA-F]{32}$")
WINDOW_CLOSED = "63016"


def _kind(mime: str) -> str:
    major = mime.split("/", 1)[0].lower()
    if major in ("image", "audio", "video"):
        return major
    return "document" if mime else "other"


def _media(form: Mapping[str, str]) -> tuple[Attachment, ...]:
    try:
        count = min(int(form.get("NumMedia", "0") or 0), MAX_MEDIA)
    except ValueError:
        return ()
    found = []
    for i in range(max(count, 0)):
        url = form.get(f"MediaUrl{i}", "")
        if not url.startswith(("https://", "http://")):
            continue
        mime = form.get(f"MediaContentType{i}", "")
        found.append(Attachment(kind=_kind(mime), ref=url, mime_type=mime))
    return tuple(found)


def _location(form: Mapping[str, str]) -> tuple[Attachment, ...]:
    lat, lon = form.get("Latitude", ""), form.get("Longitude", "")
    try:
        float(lat), float(lon)
    except ValueError:
        return ()
    name = ", ".join(p for p in (form.get("Label", ""), form.get("Address", "")) if p)
    return (Attachment(kind="location", ref=f"geo:{lat},{lon}", name=name),)


def is_status(form: Mapping[str, str]) -> bool:
    """A delivery status callback (sent, delivered, read, failed…), not a message."""
    status = form.get("SmsStatus", "received")
    return "MessageStatus" in form or status not in ("received", "")


def status_error(form: Mapping[str, str]) -> str | None:
    """The ``ErrorCode`` of a failed status callback, if any (63016: window closed)."""
    if is_status(form) and form.get("ErrorCode"):
        return form.get("ErrorCode")
    return None


def _true(form: Mapping[str, str], name: str) -> bool:
    """Twilio's boolean parameters ("true"/"false"), e.g. ``Forwarded``."""
    return (form.get(name) or "").strip().lower() == "true"


def to_inbound(bot: str, form: Mapping[str, str], policy: Policy) -> Inbound | None:
    """Decode one webhook; None for anything we do not answer (statuses, odd payloads)."""
    try:
        return _decode(bot, form, policy)
    except (AttributeError, TypeError, ValueError):
        return None


def _decode(bot: str, form: Mapping[str, str], policy: Policy) -> Inbound | None:
    sid = form.get("MessageSid") or form.get("SmsMessageSid") or ""
    if is_status(form) or not _SID.match(sid):
        return None
    number = to_e164(form.get("From", ""))
    if number is None or not form.get("From", "").startswith("whatsapp:"):
        return None
    attachments = _media(form) + _location(form)
    text = (form.get("Body") or "").strip()
    if not text and form.get("ButtonText"):
        text = form.get("ButtonText", "").strip()
    text = describe(text, attachments)
    if not text:
        return None
    quoted: tuple[Quoted, ...]
    if _true(form, "Forwarded") or _true(form, "FrequentlyForwarded"):  # not theirs
        quoted, text = (Quoted(origin=Origin.FORWARDED_MESSAGE, text=text),), ""
        attachments = tuple(replace(a, quoted=True) for a in attachments)
    else:
        text, quoted = attribution.split(text)  # a pasted forward is not theirs either
    return Inbound(
        id=InboundId(f"{CHANNEL}:{bot}:{sid}"),
        platform_message_id=PlatformMessageId(sid),
        conversation=ConversationKey(bot, CHANNEL, number),
        sender=Sender(platform_id=number, display_name=form.get("ProfileName", "")[:128],
                      namespace="tel"),
        text=text,
        quoted=quoted,
        attachments=attachments,
        reply_to=form.get("OriginalRepliedMessageSid") or None,
        addressed=Addressed.DIRECT,
        trust=policy.trust(number),
        chat=ChatKind.DIRECT,
        raw=dict(form),
    )
