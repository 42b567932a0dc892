"""A memory's scope is a typed value in Kith and the same text as always in the stores."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from core.events import ConversationKey
from core.memory.scope import (
    PRIVATE,
    SHARED,
    Group,
    decode_scope,
    encode_scope,
    scope_name,
)

_PART = st.text(st.characters(blacklist_characters="/", blacklist_categories=("Cs",)),
                min_size=1, max_size=12)


def test_the_stored_form_is_unchanged() -> None:
    group = Group(ConversationKey("kith", "telegram", "-100", "7"))
    assert [encode_scope(s) for s in (PRIVATE, SHARED, group)] == [
        "private", "shared", "group:kith/telegram/-100/7"]
    assert decode_scope("group:kith/telegram/-100/7") == group
    assert decode_scope("private") is PRIVATE and decode_scope("shared") is SHARED
    assert [scope_name(s) for s in (PRIVATE, SHARED, group)] == ["private", "shared", "group"]


@given(_PART, _PART, _PART, st.none() | st.just("") | _PART)
def test_a_group_scope_survives_the_store(bot: str, channel: str, chat: str,
                                          thread: str | None) -> None:
    group = Group(ConversationKey(bot, channel, chat, thread))
    assert decode_scope(encode_scope(group)) == group
