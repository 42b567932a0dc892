"""WhatsApp Cloud API webhook (Graph JSON) → :class:`Inbound`\\ s. Pure: never raises.

One POST may carry several messages (``entry[].changes[].value.messages[]``); statuses and
reactions are not messages we answer.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

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

CHANNEL = "whatsapp_cloud"
MEDIA_KINDS = ("image", "audio", "video", "document", "sticker")
WINDOW_CLOSED = 131047


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def values(payload: Any) -> Iterator[dict[str, Any]]:
    """Every ``value`` object of a ``whatsapp_business_account`` webhook."""
    body = _dict(payload)
    if body.get("object") != "whatsapp_business_account":
        return
    for entry in _list(body.get("entry")):
        for change in _list(_dict(entry).get("changes")):
            change = _dict(change)
            if change.get("field", "messages") == "messages":
                yield _dict(change.get("value"))


def window_errors(payload: Any) -> list[tuple[str, int]]:
    """(recipient E.164, error code) of failed statuses saying the 24-hour window is closed."""
    found: list[tuple[str, int]] = []
    try:
        for value in values(payload):
            for status in _list(value.get("statuses")):
                status = _dict(status)
                for error in _list(status.get("errors")):
                    code = _dict(error).get("code")
                    number = to_e164(_str(status.get("recipient_id")))
                    if code == WINDOW_CLOSED and number:
                        found.append((number, code))
    except (AttributeError, TypeError, ValueError):
        return found
    return found


def _content(message: dict[str, Any]) -> tuple[str, tuple[Attachment, ...]]:
    kind = _str(message.get("type"))
    if kind == "text":
        return _str(_dict(message.get("text")).get("body")), ()
    if kind in MEDIA_KINDS:
        media = _dict(message.get(kind))
        ref = _str(media.get("id"))
        if not ref:
            return "", ()
        kind_name = "image" if kind == "sticker" else kind
        att = Attachment(kind=kind_name, ref=ref, name=_str(media.get("filename")),
                         mime_type=_str(media.get("mime_type")))
        return _str(media.get("caption")), (att,)
    if kind == "interactive":
        inter = _dict(message.get("interactive"))
        choice = _dict(inter.get("button_reply")) or _dict(inter.get("list_reply"))
        return _str(choice.get("title")), ()
    if kind == "button":
        return _str(_dict(message.get("button")).get("text")), ()
    if kind == "location":
        loc = _dict(message.get("location"))
        lat, lon = loc.get("latitude"), loc.get("longitude")
        if not isinstance(lat, int | float) or not isinstance(lon, int | float):
            return "", ()
        name = ", ".join(p for p in (_str(loc.get("name")), _str(loc.get("address"))) if p)
        return "", (Attachment(kind="location", ref=f"geo:{lat},{lon}", name=name),)
    return "", ()  # reaction, unsupported, system, order…: nothing to answer


def message_to_inbound(
    bot: str, message: Any, names: dict[str, str], policy: Policy
) -> Inbound | None:
    message = _dict(message)
    wamid = _str(message.get("id"))
    number = to_e164(_str(message.get("from")))
    if not wamid or len(wamid) > 256 or number is None:
        return None
    text, attachments = _content(message)
    text = describe(text.strip(), attachments)
    if not text:
        return None
    context = _dict(message.get("context"))
    quoted: tuple[Quoted, ...]
    if context.get("forwarded") is True or context.get("frequently_forwarded") is True:
        quoted, text = (Quoted(origin=Origin.FORWARDED_MESSAGE, text=text),), ""  # not theirs
        attachments = tuple(replace(a, quoted=True) for a in attachments)
    else:
        text, quoted = attribution.split(text)  # a pasted forward is not theirs either
    return Inbound(
        id=InboundId(f"{CHANNEL}:{bot}:{wamid}"),
        platform_message_id=PlatformMessageId(wamid),
        conversation=ConversationKey(bot, CHANNEL, number),
        sender=Sender(platform_id=number, display_name=names.get(number, "")[:128],
                      namespace="tel"),
        text=text,
        quoted=quoted,
        attachments=attachments,
        reply_to=_str(context.get("id")) or None,
        addressed=Addressed.DIRECT,
        trust=policy.trust(number),
        chat=ChatKind.DIRECT,
        raw=message,
    )


def to_inbounds(bot: str, payload: Any, policy: Policy,
                phone_number_id: str | None = None) -> list[Inbound]:
    """Every answerable message in one webhook body, in order.

    With ``phone_number_id``, messages to the app's other business numbers are skipped
    (one Meta app may serve several numbers through one webhook URL).
    """
    found: list[Inbound] = []
    try:
        for value in values(payload):
            metadata = _dict(value.get("metadata"))
            if phone_number_id and _str(metadata.get("phone_number_id")) != phone_number_id:
                continue
            names: dict[str, str] = {}
            for contact in _list(value.get("contacts")):
                contact = _dict(contact)
                number = to_e164(_str(contact.get("wa_id")))
                if number:
                    names[number] = _str(_dict(contact.get("profile")).get("name"))
            for message in _list(value.get("messages")):
                inbound = message_to_inbound(bot, message, names, policy)
                if inbound is not None:
                    found.append(inbound)
    except (AttributeError, TypeError, ValueError):
        return found
    return found


def to_inbound(bot: str, payload: Any, policy: Policy) -> Inbound | None:
    """The first answerable message of a webhook body (the usual case: there is one)."""
    found = to_inbounds(bot, payload, policy)
    return found[0] if found else None
