"""Approval controls on Matrix: a notice under each proposed action, answered with a
reaction (👍 / 👎) or a reply ("yes" / "no") to that notice (pure decoding).

Which action a notice is for is kept in channel state under a hash of its event id (event
ids do not fit state keys), with the thread it sits in; the answer's sender is whoever
reacted or replied — the core decides it only for the action's person, in its room.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from adapters.matrix.decode import RoomInfo, relation, reply_fallback, trust_of
from adapters.matrix.render import message_content, with_relation
from core.events import Addressed, ChatKind, ConversationKey, Decision, Inbound, Sender
from core.ids import InboundId, PlatformMessageId
from core.tools.approvals import parse_answer

REACTIONS = {"👍": True, "✅": True, "👎": False, "❌": False}
ASK = "Do this? {summary} — react 👍 to do it or 👎 to drop it, or reply yes or no."


def state_key(event_id: str) -> str:
    return "action/" + hashlib.sha256(event_id.encode()).hexdigest()[:40]


def control(summary: str, thread: str | None) -> dict[str, Any]:
    """The notice asking about one action (a notice: bots never answer notices)."""
    return with_relation(message_content(ASK.format(summary=summary), notice=True),
                         reply_to=None, thread=thread)


def remembered(action_id: str, thread: str | None) -> bytes:
    return json.dumps({"action": action_id, "thread": thread}).encode()


def recalled(value: bytes) -> tuple[str, str | None] | None:
    try:
        data = json.loads(value)
        return str(data["action"]), data.get("thread")
    except (ValueError, KeyError, TypeError):
        return None


def answer_of(event: dict[str, Any]) -> tuple[str, bool] | None:
    """(the event answered, yes or no) for a reaction or a bare yes/no reply, else None."""
    content = event.get("content")
    if not isinstance(content, dict):
        return None
    rel_type, related, reply_to = relation(content)
    if event.get("type") == "m.reaction" and rel_type == "m.annotation" and related:
        key = content.get("m.relates_to", {}).get("key")
        approve = REACTIONS.get(key.replace("\ufe0f", "")) if isinstance(key, str) else None
        return (related, approve) if approve is not None else None
    if event.get("type") == "m.room.message" and reply_to and rel_type != "m.replace":
        body = content.get("body")
        said = parse_answer(reply_fallback(body)[0]) if isinstance(body, str) else None
        return (reply_to, said) if said is not None else None
    return None


def to_decision(event: dict[str, Any], room: RoomInfo, action_id: str, approve: bool,
                thread: str | None) -> Inbound | None:
    sender, event_id = event.get("sender"), event.get("event_id")
    room_id = event.get("room_id")
    if not (isinstance(sender, str) and isinstance(event_id, str) and isinstance(room_id, str)):
        return None
    if sender == room.user_id:
        return None
    return Inbound(
        id=InboundId(f"matrix:{room.bot}:{event_id}"),
        platform_message_id=PlatformMessageId(event_id),
        conversation=ConversationKey(room.bot, "matrix", room_id, thread),
        sender=Sender(platform_id=sender, display_name=room.member_names.get(sender, "")),
        text="yes" if approve else "no",
        addressed=Addressed.DIRECT if room.is_direct else Addressed.REPLY,
        trust=trust_of(sender, room),
        chat=ChatKind.DIRECT if room.is_direct else ChatKind.GROUP,
        decision=Decision(action_id, approve),
        raw=event,
    )
