"""Extraction parsing (repair, validation) and rank fusion: pure functions."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.commands import PREF_KEYS
from core.memory.extract import (
    PREF_KEY_NAMES,
    RESPONSE_FORMAT,
    SCHEMA,
    ExtractionError,
    parse,
    repair,
)
from core.memory.fusion import rrf
from core.memory.lexical import fts_query

GOOD = '{"memories": [{"decision": "new", "text": "Likes tea", "kind": "fact", ' \
       '"confidence": 0.8, "scope": "private"}]}'


def test_a_valid_answer_parses() -> None:
    [item] = parse(GOOD).memories
    assert (item.decision, item.text, item.kind, item.scope) == ("new", "Likes tea", "fact",
                                                                 "private")


@pytest.mark.parametrize("raw", [
    f"```json\n{GOOD}\n```",
    f"Here you go:\n{GOOD}\nHope that helps!",
    GOOD.replace('"private"}', '"private",}').replace("}]}", "},]}"),
    '[{"decision": "new", "text": "Likes tea"}]',
])
def test_common_damage_is_repaired(raw: str) -> None:
    assert parse(raw).memories[0].text == "Likes tea"


@pytest.mark.parametrize(("raw", "reason"), [
    ("", "empty"),
    ("   \n", "empty"),
    ('{"memories": [{"decision": "new", "text": "Lik', "json"),
    ("no json at all", "json"),
    ('{"memories": [{"decision": "perhaps", "text": "x"}]}', "schema"),
    ('{"memories": [{"decision": "new", "text": ""}]}', "schema"),
    ('{"memories": [{"decision": "update", "text": "Lives in Porto"}]}', "schema"),
    ('{"memories": [{"decision": "new", "text": "x", "confidence": 7}]}', "schema"),
    ('{"memories": "none"}', "schema"),
    ('{"facts": []}', "schema"),
    ("42", "schema"),
])
def test_garbage_is_refused_with_a_reason(raw: str, reason: str) -> None:
    with pytest.raises(ExtractionError) as err:
        parse(raw)
    assert err.value.reason == reason


@given(st.text(max_size=300))
def test_parse_never_raises_anything_but_extraction_error(raw: str) -> None:
    with contextlib.suppress(ExtractionError):
        parse(raw)


def test_a_naive_expiry_is_utc_and_noise_needs_no_text() -> None:
    raw = '{"memories": [{"decision": "new", "text": "In Lisbon", "expires_at": "2026-11-30"},' \
          ' {"decision": "noise", "text": ""}]}'
    first, noise = parse(raw).memories
    assert first.expires_at == datetime(2026, 11, 30, tzinfo=UTC) and noise.decision == "noise"


def test_response_format_is_a_json_schema_with_the_pref_keys() -> None:
    assert RESPONSE_FORMAT["type"] == "json_schema"
    assert RESPONSE_FORMAT["json_schema"]["schema"] is SCHEMA
    assert set(PREF_KEY_NAMES) == set(PREF_KEYS)


def test_repair_leaves_valid_json_alone() -> None:
    assert repair(GOOD) == GOOD


def test_rrf_rewards_agreement_between_rankings() -> None:
    assert rrf([["a", "b", "c"], ["b", "d"]]) == ["b", "a", "d", "c"]
    assert rrf([]) == [] and rrf([["x"]]) == ["x"]


def test_fts_query_quotes_content_words_only() -> None:
    assert fts_query('Where do I live? "Porto" OR NOT lisbon*') == \
        '"live" OR "porto" OR "lisbon"'
    assert fts_query("what is it?") == ""


def test_rrf_weights_lift_a_ranking() -> None:
    assert rrf([["a", "b"], ["c"]], weights=[1.0, 2.0]) == ["c", "a", "b"]


def test_a_raw_newline_inside_a_string_still_parses() -> None:
    """What Qwen2.5 wrote through the grammar once: a literal newline inside "text"."""
    from core.memory.extract import parse
    got = parse('{"memories": [{"decision": "new", "text": "Lives in\nPorto", "kind": "fact",'
                ' "confidence": 0.9, "scope": "private"}]}')
    assert got.memories[0].text == "Lives in\nPorto"
