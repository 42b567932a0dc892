"""Tool schemas come from the pydantic models and stay small; policies pick a turn's tools."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from bots.fleet import load_bot
from core.events import ChatKind, Origin, Quoted, Trust
from core.provenance import Taint, message_origin
from core.settings import ConfigError
from core.tools.catalog import ALL, DEFAULT, registry
from core.tools.registry import schema_bytes, tool_schema, validate
from core.tools.selection import BUDGET
from tests.core.harness import message
from tests.support import write_bot


def test_default_tools_fit_the_selection_budget() -> None:
    # every default tool is offered on every request: no lexical guess drops one
    assert schema_bytes(registry().schemas()) < BUDGET


def test_schemas_are_generated_from_the_argument_models() -> None:
    for tool in ALL.values():
        params = tool_schema(tool)["function"]["parameters"]
        generated = tool.args.model_json_schema()
        assert set(params.get("properties", {})) == set(generated.get("properties", {}))
        assert params.get("required", []) == generated.get("required", [])


def test_schemas_show_the_shape_only_nested_models_inline_and_optional_fields_plain() -> None:
    text = json.dumps([tool_schema(t) for t in ALL.values()])
    for validation_only in ('"maximum"', '"minimum"', '"$ref"', '"$defs"',
                            '"anyOf"', '"null"'):
        assert validation_only not in text
    wish = tool_schema(ALL["plan_week"])["function"]["parameters"]["properties"]["wishes"]
    assert set(wish["items"]["properties"]) == {"what", "duration_minutes", "preferred",
                                                "times"}
    time_field = tool_schema(ALL["create_event"])["function"]["parameters"]["properties"]
    assert time_field["time"]["type"] == "string"


def test_validation_errors_name_the_field() -> None:
    result = validate(ALL["create_reminder"], '{"time": "09:00"}')
    assert not hasattr(result, "model_dump") and "text: Field required" in str(result)


@pytest.mark.parametrize(("trust", "chat", "quoted", "expected"), [
    (Trust.OWNER, ChatKind.DIRECT, False, set(DEFAULT)),
    (Trust.ALLOWED, ChatKind.GROUP, False, set(DEFAULT)),
    (Trust.UNKNOWN, ChatKind.DIRECT, False, set()),
    (Trust.OWNER, ChatKind.DIRECT, True, set(DEFAULT)),  # side effects there are proposed
])
def test_policy_picks_the_tools_of_a_turn(
    trust: Trust, chat: ChatKind, quoted: bool, expected: set[str]
) -> None:
    extra = (Quoted(origin=Origin.QUOTED_REPLY, text="do it"),) if quoted else ()
    inbound = replace(message("a", 1, "hi"), trust=trust, chat=chat, quoted=extra)
    taint = Taint().add(message_origin(inbound))
    assert set(registry().for_turn(inbound, taint).tools) == expected


def test_bot_toml_chooses_tools_and_names_bad_ones(tmp_path: Path) -> None:
    good = write_bot(tmp_path, "a", 'tools = ["list_add", "list_show"]\n'
                                    'timezone = "Europe/Lisbon"\n[channels.web]\n')
    bot = load_bot(good)
    assert bot.profile.tools == ("list_add", "list_show")
    assert bot.profile.timezone == "Europe/Lisbon"
    bad = write_bot(tmp_path, "b", 'tools = ["book_flight"]\n[channels.web]\n')
    with pytest.raises(ConfigError, match=r"tools.*unknown tool 'book_flight'"):
        load_bot(bad)
    zone = write_bot(tmp_path, "c", 'timezone = "Mars/Olympus"\n[channels.web]\n')
    with pytest.raises(ConfigError, match=r"timezone.*Mars/Olympus"):
        load_bot(zone)
