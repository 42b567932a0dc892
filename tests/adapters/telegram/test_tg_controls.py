"""Decoding a press on an approval button (pure), and keeping its decision in the inbox."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.telegram.controls import callback_data, keyboard, to_decision
from adapters.telegram.decode import Policy
from core.codec import inbound_from_json, inbound_to_json
from core.events import Addressed, Decision, Trust

POLICY = Policy(bot="kith", bot_id=7, username="kith_test_bot", owners=frozenset({1001}),
                allowed_groups=frozenset({-100}))


def press(data: str, chat: dict[str, Any], who: int = 1001) -> dict[str, Any]:
    return {"update_id": 1, "callback_query": {
        "id": "77", "from": {"id": who, "is_bot": False, "first_name": "Ana"},
        "message": {"message_id": 5, "date": 0, "chat": chat, "text": "Do this? x"},
        "chat_instance": "1", "data": data}}


def test_a_press_is_the_pressers_answer_and_survives_the_inbox() -> None:
    inbound = to_decision(press(callback_data("a0123456789a", True),
                                {"id": 1001, "type": "private"}), POLICY)
    assert inbound is not None
    assert inbound.id == "telegram:kith:callback:77" and inbound.text == "yes"
    assert inbound.decision == Decision("a0123456789a", True)
    assert (inbound.trust, inbound.addressed) == (Trust.OWNER, Addressed.DIRECT)
    assert inbound_from_json(inbound_to_json(inbound)).decision == inbound.decision
    group = to_decision(press(callback_data("a1", False), {"id": -100, "type": "supergroup"},
                              who=1002), POLICY)
    assert group is not None and group.decision == Decision("a1", False)
    assert group.sender.platform_id == "1002" and group.is_group


@pytest.mark.parametrize("data", ["", "act:a1", "act::y", "act:a1:maybe", "other:a1:y",
                                  "act:a1:y:extra"])
def test_other_callbacks_are_not_answers(data: str) -> None:
    assert to_decision(press(data, {"id": 1001, "type": "private"}), POLICY) is None


def test_a_group_kith_does_not_serve_is_ignored() -> None:
    assert to_decision(press("act:a1:y", {"id": -999, "type": "supergroup"}), POLICY) is None


def test_button_data_fits_telegrams_64_bytes() -> None:
    for row in keyboard("a" + "f" * 11)["inline_keyboard"]:
        assert all(len(b["callback_data"].encode()) <= 64 for b in row)
