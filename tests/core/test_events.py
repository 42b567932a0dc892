"""Inbound has no defaults that grant trust: leaving one out fails to construct and check."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from core.codec import inbound_from_json, inbound_to_json
from core.events import (
    Addressed,
    ChatKind,
    ConversationKey,
    Inbound,
    Origin,
    Quoted,
    Sender,
    Trust,
)
from core.ids import PlatformMessageId
from core.schedule.model import Kind, occurrence, origin_template
from tests.core.typecheck import strict_mypy

FIELDS: dict[str, Any] = dict(
    id="x:1", conversation=ConversationKey("kith", "x", "c"), sender=Sender("u"), text="hi",
    trust=Trust.UNKNOWN, addressed=Addressed.DIRECT, chat=ChatKind.DIRECT,
)


@pytest.mark.parametrize("missing", ["trust", "addressed", "chat"])
def test_leaving_out_a_trust_field_fails_to_construct(missing: str) -> None:
    fields = {k: v for k, v in FIELDS.items() if k != missing}
    with pytest.raises(TypeError, match=missing):
        Inbound(**fields)


def test_fields_are_keyword_only_and_typed() -> None:
    with pytest.raises(TypeError):
        Inbound("x:1", FIELDS["conversation"], Sender("u"), "hi",  # type: ignore[misc]
                Trust.OWNER, Addressed.DIRECT, ChatKind.DIRECT)
    with pytest.raises(TypeError, match="trust"):
        Inbound(**{**FIELDS, "trust": "owner"})
    with pytest.raises(TypeError, match="quoted"):
        Inbound(**FIELDS, quoted=("a forwarded mail",))  # type: ignore[arg-type]


ADAPTER = '''
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender
from core.ids import InboundId

def to_inbound(text: str) -> Inbound:
    return Inbound(id=InboundId("x:1"), conversation=ConversationKey("kith", "x", "c"),
                   sender=Sender("u"), text=text, addressed=Addressed.DIRECT,
                   chat=ChatKind.DIRECT)
'''


def test_an_adapter_that_forgets_trust_fails_to_type_check(tmp_path: Path) -> None:
    out, status = strict_mypy(tmp_path, ADAPTER)
    assert status == 1 and 'Missing named argument "trust"' in out, out
    fixed = (ADAPTER.replace("chat=", "trust=Trust.OWNER, chat=")
             .replace("Inbound, Sender", "Inbound, Sender, Trust"))
    out, status = strict_mypy(tmp_path, fixed)
    assert status == 0, out


def test_quoted_and_chat_survive_the_store_codec() -> None:
    item = Inbound(**{**FIELDS, "chat": ChatKind.GROUP}, quoted=(
        Quoted(origin=Origin.FORWARDED_MAIL, text="body", author="Mallory <m@evil.test>",
               subject="Hi"),))
    back = inbound_from_json(inbound_to_json(item))
    assert back == item and back.is_group


def test_the_platform_message_id_survives_the_store_codec_and_old_rows_have_none() -> None:
    item = Inbound(**FIELDS, platform_message_id=PlatformMessageId("11"))
    back = inbound_from_json(inbound_to_json(item))
    assert back == item and back.platform_message_id == "11"
    plain = inbound_to_json(Inbound(**FIELDS))
    assert "platform_message_id" not in plain  # the row is what it was before the field
    assert inbound_from_json(plain).platform_message_id is None


def test_a_turn_kith_starts_itself_refers_to_no_platform_message() -> None:
    origin = origin_template(Inbound(**FIELDS, platform_message_id=PlatformMessageId("11")))
    due = datetime(2026, 12, 8, 9, 0, tzinfo=UTC)
    turn = occurrence(origin, "s1", Kind.REMINDER, "call Bo", due, "UTC", due)
    assert origin.platform_message_id is None and turn.platform_message_id is None
    assert turn.id == f"schedule:s1:{int(due.timestamp())}"
