"""Events recorded from a real Synapse (tests/fixtures/matrix) through the pure decoder."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from adapters.matrix.decode import RoomInfo, to_inbound
from core.events import Addressed

FIXTURES = Path(__file__).parents[2] / "fixtures" / "matrix"
BOT = "@kith:localhost"


def load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text("utf-8"))
    return data


def room() -> RoomInfo:
    bot_event = load("reply_to_bot")["content"]["m.relates_to"]["m.in_reply_to"]["event_id"]
    return RoomInfo(bot="kith", user_id=BOT, display_name="kith", member_count=3,
                    member_names={"@alice:localhost": "alice"}, bot_events={bot_event},
                    allowed_users=["@alice:localhost"])


@pytest.mark.parametrize(("name", "addressed", "text"), [
    ("text_plain", Addressed.NONE, "hello everyone"),
    ("text_mentions", Addressed.MENTION, "kith: what's the plan?"),
    ("reply_to_bot", Addressed.REPLY, "thanks!"),
    ("thread", Addressed.MENTION, "kith, in a thread"),
    ("emote", Addressed.MENTION, "* alice waves at kith"),
    ("notice", Addressed.NONE, "beep"),
    ("image", Addressed.NONE, ""),
])
def test_recorded_messages(name: str, addressed: Addressed, text: str) -> None:
    event = load(name)
    inbound = to_inbound(event, room())
    assert inbound is not None
    assert inbound.addressed is addressed and inbound.text == text
    assert inbound.id == f"matrix:kith:{event['event_id']}"
    assert inbound.conversation.chat_id == event["room_id"] and inbound.is_group


def test_thread_and_image_details() -> None:
    thread = to_inbound(load("thread"), room())
    assert thread is not None
    assert thread.conversation.thread == load("text_plain")["event_id"]
    image = to_inbound(load("image"), room())
    assert image is not None and image.attachments[0].kind == "image"
    assert image.attachments[0].ref.startswith("mxc://") and image.attachments[0].size == 1234


@pytest.mark.parametrize("name", ["edit", "reaction", "redaction"])
def test_recorded_events_the_bot_ignores(name: str) -> None:
    assert to_inbound(load(name), room()) is None
