"""The pure parts of the Matrix adapter: decoding, addressing, rendering, rate-limit parsing."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.matrix.decode import (
    RoomInfo,
    after_own_join,
    inviter,
    reply_fallback,
    to_inbound,
)
from adapters.matrix.render import edit_content, message_content, to_html
from core.events import Addressed, Trust

BOT = "@kith:example.org"
ALICE = "@alice:example.org"
V12_ROOM = "!aB3dEfGhIjKlMnOpQrStUvWxYz0123456789_-abcd"  # no server name (room v12)
GROUP = RoomInfo(bot="kith", user_id=BOT, display_name="Kith", member_count=5,
                 member_names={ALICE: "Alice"}, bot_events={"$mine"}, owners=[ALICE],
                 allowed_servers=["friends.net"])
DM = RoomInfo(bot="kith", user_id=BOT, display_name="Kith", member_count=2)


def event(body: str = "hello", sender: str = ALICE, **content: Any) -> dict[str, Any]:
    return {"type": "m.room.message", "event_id": "$e1", "sender": sender, "room_id": V12_ROOM,
            "origin_server_ts": 1_700_000_000_000,
            "content": {"msgtype": "m.text", "body": body, **content}}


def test_a_dm_is_direct_with_ids_keys_and_trust() -> None:
    inbound = to_inbound(event("hi"), DM)
    assert inbound is not None
    assert inbound.id == "matrix:kith:$e1"
    assert inbound.platform_message_id == "$e1"  # what the receipt and a reply refer to
    assert inbound.conversation.chat_id == V12_ROOM and inbound.conversation.thread is None
    assert inbound.addressed is Addressed.DIRECT and not inbound.is_group
    assert inbound.trust is Trust.UNKNOWN  # not in owners/allowed of this room info
    assert inbound.received_at.year == 2023


def test_group_addressing() -> None:
    def why(body: str, **content: Any) -> Addressed | None:
        inbound = to_inbound(event(body, **content), GROUP)
        return inbound.addressed if inbound else None

    assert why("hello all") is Addressed.NONE
    assert why("kith, what's up?") is Addressed.MENTION  # display name, any case
    assert why("@kith what's up?") is Addressed.MENTION
    assert why("kithara lessons") is Addressed.NONE  # not a word match
    assert why(f"{BOT} ping") is Addressed.MENTION
    assert why("psst", **{"m.mentions": {"user_ids": [BOT]}}) is Addressed.MENTION
    assert why("sure", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$mine"}}}) \
        is Addressed.REPLY
    assert why("sure", **{"m.relates_to": {"m.in_reply_to": {"event_id": "$other"}}}) \
        is Addressed.NONE
    assert why("/help") is Addressed.COMMAND
    inbound = to_inbound(event("!kith /memory"), GROUP)
    assert inbound is not None and inbound.addressed is Addressed.COMMAND
    assert inbound.text == "/memory"


def test_trust_from_owners_and_allowed_servers() -> None:
    owner = to_inbound(event("hi kith"), GROUP)
    friend = to_inbound(event("hi kith", sender="@bob:friends.net"), GROUP)
    stranger = to_inbound(event("hi kith", sender="@eve:elsewhere.io"), GROUP)
    assert owner and owner.trust is Trust.OWNER and owner.sender.display_name == "Alice"
    assert friend and friend.trust is Trust.ALLOWED
    assert stranger and stranger.trust is Trust.UNKNOWN


def test_ignored_events() -> None:
    assert to_inbound(event("mine", sender=BOT), GROUP) is None
    edit = event("* fixed", **{"m.new_content": {"msgtype": "m.text", "body": "fixed"},
                               "m.relates_to": {"rel_type": "m.replace", "event_id": "$e0"}})
    assert to_inbound(edit, DM) is None
    assert to_inbound({**event(), "type": "m.reaction"}, DM) is None
    assert to_inbound({**event(), "type": "m.room.redaction"}, DM) is None
    assert to_inbound({**event(), "type": "m.room.encrypted"}, DM) is None
    assert to_inbound(event(msgtype="m.location", geo_uri="geo:1,2"), DM) is None
    assert to_inbound(event("   "), DM) is None


def test_notices_emotes_replies_threads_and_files() -> None:
    notice = to_inbound(event("beep", msgtype="m.notice"), DM)
    assert notice is not None and notice.addressed is Addressed.NONE  # never answer a bot
    emote = to_inbound(event("waves", msgtype="m.emote"), GROUP)
    assert emote is not None and emote.text == "* Alice waves"
    reply = to_inbound(event("> <@kith:example.org> old\n\nnew text",
                             **{"m.relates_to": {"m.in_reply_to": {"event_id": "$mine"}}}),
                       GROUP)
    assert reply is not None and reply.text == "new text"
    assert reply.reply_to == "matrix:kith:$mine"
    threaded = to_inbound(event("kith?", **{"m.relates_to": {
        "rel_type": "m.thread", "event_id": "$root"}}), GROUP)
    assert threaded is not None and threaded.conversation.thread == "$root"
    image = to_inbound(event("cat.png", msgtype="m.image", url="mxc://hs/abc",
                             info={"mimetype": "image/png", "size": 12}), DM)
    assert image is not None and image.text == ""
    assert image.attachments[0].kind == "image" and image.attachments[0].ref == "mxc://hs/abc"
    secret_file = {"url": "mxc://hs/enc", "key": {"k": "K"}, "iv": "IV",
                   "hashes": {"sha256": "H"}, "v": "v2"}
    doc = to_inbound(event("see this", msgtype="m.file", filename="a.pdf", file=secret_file), DM)
    assert doc is not None and doc.text == "see this"
    assert json.loads(doc.attachments[0].ref.removeprefix("enc:"))["url"] == "mxc://hs/enc"


def test_history_before_the_bots_join_is_dropped() -> None:
    join = {"type": "m.room.member", "state_key": BOT, "content": {"membership": "join"}}
    before, after = event("old"), event("new")
    assert after_own_join([before, join, after], BOT) == [after]
    assert after_own_join([before, after], BOT) == [before, after]
    rename = {**join, "unsigned": {"prev_content": {"membership": "join"}}}
    assert after_own_join([before, rename, after], BOT) == [before, rename, after]


def test_inviter() -> None:
    state = [{"type": "m.room.create"}, {"type": "m.room.member", "state_key": BOT,
                                         "sender": ALICE, "content": {"membership": "invite"}}]
    assert inviter(state, BOT) == ALICE
    assert inviter([None, 3, {}], BOT) is None


def test_render_sanitizes_and_keeps_a_plain_body() -> None:
    content = message_content("**bold** <script>alert(1)</script> [x](javascript:alert(1))")
    assert content["body"].startswith("**bold**")
    html = content["formatted_body"]
    assert "<strong>bold</strong>" in html and "<script" not in html and "href" not in html
    assert "formatted_body" not in message_content("just words")
    assert "<pre><code" in to_html("```\ncode\n```")
    edit = edit_content("$orig", "new *text*")
    assert edit["m.new_content"]["body"] == "new *text*"
    assert edit["m.relates_to"] == {"rel_type": "m.replace", "event_id": "$orig"}


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner,
                                                                max_size=5),
    max_leaves=20,
)
keys = st.sampled_from(["type", "sender", "event_id", "room_id", "content", "state_key",
                        "origin_server_ts", "unsigned"])
content_keys = st.sampled_from(["msgtype", "body", "m.relates_to", "m.mentions", "url", "file",
                                "info", "filename", "m.new_content", "format"])
event_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["m.room.message", "m.reaction", "x"]) | st.text(max_size=5),
     "sender": st.sampled_from([ALICE, BOT]) | json_values,
     "event_id": st.just("$e") | json_values,
     "room_id": st.just(V12_ROOM) | json_values,
     "content": st.dictionaries(content_keys, json_values | st.sampled_from(
         ["m.text", "m.image", "m.file", "m.emote", "m.notice"]), max_size=6) | json_values},
    optional={"origin_server_ts": json_values},
) | st.dictionaries(keys, json_values) | json_values


@settings(max_examples=250, deadline=None)
@given(payload=event_like, room=st.sampled_from([GROUP, DM]))
def test_to_inbound_never_raises(payload: Any, room: RoomInfo) -> None:
    inbound = to_inbound(payload, room)
    assert inbound is None or inbound.id.startswith("matrix:kith:")


@given(body=st.text(max_size=200))
def test_reply_fallback_never_grows(body: str) -> None:
    assert len(reply_fallback(body)[0]) <= len(body)
