"""Approval controls on Telegram: an inline keyboard under a proposed action, and the
``callback_query`` a press sends back, decoded into an :class:`Inbound` carrying a
:class:`core.events.Decision` (pure, never raises).

The callback's sender is who pressed the button (``callback_query.from``), not who the
message was for: the core lets only the action's person decide it, in its conversation.
A replayed callback has the same query id, so its Inbound id repeats and the inbox drops it.
"""

from __future__ import annotations

from typing import Any

from adapters.telegram.decode import GROUP_TYPES, Policy, _dict, _int, _sender, _str, _trust
from core.events import Addressed, ChatKind, ConversationKey, Decision, Inbound
from core.ids import InboundId

PREFIX = "act"
YES, NO = "Yes, do it", "No"


def callback_data(action_id: str, approve: bool) -> str:
    return f"{PREFIX}:{action_id}:{'y' if approve else 'n'}"


def keyboard(action_id: str) -> dict[str, Any]:
    """The Bot API ``reply_markup`` with a yes and a no button for one action."""
    return {"inline_keyboard": [[
        {"text": YES, "callback_data": callback_data(action_id, True)},
        {"text": NO, "callback_data": callback_data(action_id, False)},
    ]]}


def callback_id(update: Any) -> str | None:
    """The id of a ``callback_query`` update (to answer it), else None."""
    query = _dict(_dict(update).get("callback_query"))
    return _str(query.get("id")) or None


def to_decision(update: Any, policy: Policy) -> Inbound | None:
    """A press on one of Kith's approval buttons, as the presser's answer; else None."""
    query = _dict(_dict(update).get("callback_query"))
    parts = _str(query.get("data")).split(":")
    if len(parts) != 3 or parts[0] != PREFIX or parts[2] not in ("y", "n") or not parts[1]:
        return None
    message = _dict(query.get("message"))
    chat = _dict(message.get("chat"))
    chat_id, qid = _int(chat.get("id")), _str(query.get("id"))
    sender = _sender(query)
    if chat_id is None or not qid or sender is None:
        return None
    kind = chat.get("type")
    if kind == "private":
        addressed, group_allowed = Addressed.DIRECT, False
    elif kind in GROUP_TYPES and chat_id in policy.allowed_groups:
        addressed, group_allowed = Addressed.REPLY, True
    else:
        return None
    thread = _int(message.get("message_thread_id")) if message.get("is_topic_message") else None
    approve = parts[2] == "y"
    return Inbound(
        id=InboundId(f"telegram:{policy.bot}:callback:{qid}"),
        conversation=ConversationKey(policy.bot, "telegram", str(chat_id),
                                     str(thread) if thread is not None else None),
        sender=sender,
        text="yes" if approve else "no",
        addressed=addressed,
        trust=_trust(sender, policy, group_allowed),
        chat=ChatKind.GROUP if kind in GROUP_TYPES else ChatKind.DIRECT,
        decision=Decision(parts[1], approve),
        raw=update,
    )
