"""Decoding an answer to an approval notice on Matrix (pure)."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.matrix.controls import answer_of, recalled, remembered, state_key, to_decision
from adapters.matrix.decode import RoomInfo
from core.channel_state import check_key
from core.events import Decision

ROOM = RoomInfo(bot="kith", user_id="@kith:test", member_count=3,
                allowed_users=frozenset({"@ana:test"}))


def reaction(key: str, target: str = "$notice") -> dict[str, Any]:
    return {"type": "m.reaction", "sender": "@ana:test", "event_id": "$r1", "room_id": "!r",
            "content": {"m.relates_to": {"rel_type": "m.annotation", "event_id": target,
                                         "key": key}}}


def reply(body: str, target: str = "$notice") -> dict[str, Any]:
    return {"type": "m.room.message", "sender": "@ana:test", "event_id": "$m1", "room_id": "!r",
            "content": {"msgtype": "m.text", "body": body,
                        "m.relates_to": {"m.in_reply_to": {"event_id": target}}}}


@pytest.mark.parametrize(("event", "answer"), [
    (reaction("👍"), ("$notice", True)), (reaction("👍️"), ("$notice", True)),
    (reaction("👎"), ("$notice", False)), (reaction("😂"), None),
    (reply("> <@kith:test> Do this?\n\nyes"), ("$notice", True)),
    (reply("No."), ("$notice", False)), (reply("yes, and also remind me"), None),
    ({**reply("yes"), "content": {"msgtype": "m.text", "body": "yes"}}, None),  # no reply
])
def test_reactions_and_bare_replies_are_answers(event: dict[str, Any],
                                                answer: tuple[str, bool] | None) -> None:
    assert answer_of(event) == answer


def test_the_answer_is_the_senders_and_keeps_the_thread() -> None:
    inbound = to_decision(reaction("👍"), ROOM, "a0123456789a", True, "$root")
    assert inbound is not None and inbound.decision == Decision("a0123456789a", True)
    assert inbound.sender.platform_id == "@ana:test" and inbound.conversation.thread == "$root"
    own = {**reaction("👍"), "sender": "@kith:test"}
    assert to_decision(own, ROOM, "a0123456789a", True, None) is None


def test_the_state_key_fits_and_the_value_round_trips() -> None:
    assert check_key(state_key("$AbC-123:matrix.example.org")) and len(state_key("$x")) < 100
    assert recalled(remembered("a1", "$t")) == ("a1", "$t")
    assert recalled(b"not json") is None
