"""Pure encode/decode of core events for storage (JSON). ``raw`` is never stored."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from core.events import (
    Addressed,
    Attachment,
    ChatKind,
    ConversationKey,
    Decision,
    Inbound,
    Origin,
    Quoted,
    ScheduledTurn,
    Sender,
    Trust,
)
from core.ids import InboundId, PlatformMessageId


def quoted_to_list(quoted: Sequence[Quoted]) -> list[list[str]]:
    return [[q.origin.value, q.text, q.author, q.subject] for q in quoted]


def quoted_from_list(items: Sequence[Sequence[str]]) -> tuple[Quoted, ...]:
    return tuple(Quoted(origin=Origin(o), text=t, author=a, subject=s) for o, t, a, s in items)


def quoted_to_json(quoted: Sequence[Quoted]) -> str:
    """The quoted parts of a turn, for the Store's ``turns.quoted`` column ("" for none)."""
    if not quoted:
        return ""
    return json.dumps(quoted_to_list(quoted), ensure_ascii=False, separators=(",", ":"))


def quoted_from_json(text: str) -> tuple[Quoted, ...]:
    return quoted_from_list(json.loads(text)) if text else ()


def inbound_to_json(inbound: Inbound) -> str:
    conv = inbound.conversation
    return json.dumps(
        {
            "id": inbound.id,
            "conversation": [conv.bot, conv.channel, conv.chat_id, conv.thread],
            "sender": [inbound.sender.platform_id, inbound.sender.display_name,
                       inbound.sender.namespace],
            "text": inbound.text,
            "received_at": inbound.received_at.isoformat(),
            "attachments": [
                [a.kind, a.ref, a.name, a.mime_type, a.size, a.duration, a.quoted]
                for a in inbound.attachments
            ],
            "reply_to": inbound.reply_to,
            "addressed": inbound.addressed.value,
            "trust": inbound.trust.value,
            "chat": inbound.chat.value,
            "quoted": quoted_to_list(inbound.quoted),
            **({"scheduled": _scheduled_to_json(inbound.scheduled)} if inbound.scheduled else {}),
            **({"decision": [inbound.decision.action_id, inbound.decision.approve]}
               if inbound.decision else {}),
            **({"platform_message_id": inbound.platform_message_id}
               if inbound.platform_message_id is not None else {}),
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )


def inbound_from_json(text: str) -> Inbound:
    data: dict[str, Any] = json.loads(text)
    bot, channel, chat_id, thread = data["conversation"]
    platform_message_id = data.get("platform_message_id")
    return Inbound(
        id=InboundId(data["id"]),
        conversation=ConversationKey(bot, channel, chat_id, thread),
        sender=Sender(*data["sender"]),
        text=data["text"],
        received_at=datetime.fromisoformat(data["received_at"]),
        attachments=tuple(Attachment(*a) for a in data.get("attachments", ())),
        reply_to=data.get("reply_to"),
        addressed=Addressed(data.get("addressed", "none")),
        trust=Trust(data.get("trust", "unknown")),
        chat=_chat(data),
        quoted=quoted_from_list(data.get("quoted", ())),
        scheduled=_scheduled_from_json(data["scheduled"]) if data.get("scheduled") else None,
        decision=Decision(str(data["decision"][0]), bool(data["decision"][1]))
        if data.get("decision") else None,
        # rows written before the field have none: a reply to them refers to no message
        platform_message_id=PlatformMessageId(platform_message_id)
        if platform_message_id is not None else None,
    )


def _scheduled_to_json(turn: ScheduledTurn) -> list[str]:
    return [turn.schedule_id, turn.kind, turn.text, turn.due_at.isoformat(), turn.timezone]


def _scheduled_from_json(data: list[str]) -> ScheduledTurn:
    schedule_id, kind, text, due_at, timezone = data
    return ScheduledTurn(schedule_id, kind, text, datetime.fromisoformat(due_at), timezone)


def _chat(data: dict[str, Any]) -> ChatKind:
    if "chat" in data:
        return ChatKind(data["chat"])
    # rows written before ChatKind: a missing flag is read as a group (shares less)
    return ChatKind.DIRECT if data.get("is_group") is False else ChatKind.GROUP
