"""Approval controls on WhatsApp Cloud: interactive reply buttons under a proposed action,
and the ``button_reply`` a tap sends back, read as a :class:`core.events.Decision` (pure).

A tap arrives as an ordinary message from the tapper's own number (``type: interactive``),
so it is their answer in their own chat; the core decides it only for the action's person.
"""

from __future__ import annotations

from typing import Any

from core.events import Decision

PREFIX = "act"
YES, NO = "Yes, do it", "No"  # button titles: at most 20 characters
BODY_LIMIT = 1024  # an interactive message's body text


def reply_id(action_id: str, approve: bool) -> str:
    return f"{PREFIX}:{action_id}:{'y' if approve else 'n'}"


def buttons(number: str, action_id: str, text: str) -> dict[str, Any]:
    """The Graph API body of an interactive message with a yes and a no reply button."""
    return {
        "messaging_product": "whatsapp", "recipient_type": "individual",
        "to": number.lstrip("+"), "type": "interactive",
        "interactive": {"type": "button", "body": {"text": text[:BODY_LIMIT]}, "action": {
            "buttons": [
                {"type": "reply", "reply": {"id": reply_id(action_id, True), "title": YES}},
                {"type": "reply", "reply": {"id": reply_id(action_id, False), "title": NO}},
            ]}},
    }


def decision_of(message: Any) -> Decision | None:
    """The answer a tap on one of Kith's buttons carries, else None."""
    if not isinstance(message, dict) or message.get("type") != "interactive":
        return None
    inter = message.get("interactive")
    choice = inter.get("button_reply") if isinstance(inter, dict) else None
    raw = choice.get("id") if isinstance(choice, dict) else None
    parts = raw.split(":") if isinstance(raw, str) else []
    if len(parts) != 3 or parts[0] != PREFIX or not parts[1] or parts[2] not in ("y", "n"):
        return None
    return Decision(parts[1], parts[2] == "y")
