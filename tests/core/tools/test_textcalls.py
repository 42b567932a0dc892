"""Text-emitted tool calls: every documented Llama form is recovered, nothing else is."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from core.tools.catalog import ALL
from core.tools.markup import has_markup
from core.tools.textcalls import extract_calls
from core.tools.textfilter import CallFilter

CORPUS = json.loads(
    (Path(__file__).parents[2] / "fixtures/toolcalls/llama_corpus.json").read_text()
)["cases"]
KNOWN = set(ALL)


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


@pytest.mark.parametrize("case", CORPUS, ids=[f"{c['family']}:{c['form']}" for c in CORPUS])
def test_corpus(case: dict[str, Any]) -> None:
    shown, calls = extract_calls(case["text"], KNOWN)
    assert [{"name": c.name, "arguments": c.arguments} for c in calls] == case["calls"]
    expected_shown = case.get("shown", "" if case["calls"] else case["text"])
    assert shown == expected_shown


@pytest.mark.parametrize("size", [1, 3, 7, 1000])
@pytest.mark.parametrize("case", CORPUS, ids=[f"{c['family']}:{c['form']}" for c in CORPUS])
def test_streamed_call_text_never_shown(case: dict[str, Any], size: int) -> None:
    flt = CallFilter(KNOWN)
    streamed = "".join(flt.feed(p) for p in pieces(case["text"], size))
    rest, calls = flt.finish()
    assert [c.name for c in calls] == [c["name"] for c in case["calls"]]
    visible = streamed + rest
    if case["calls"]:
        for marker in ("<|python_tag|>", "<|python_start|>", "<function=", '"parameters"',
                       "```", *(f"{c['name']}(" for c in case["calls"])):
            assert marker not in visible
    else:
        assert visible == case["text"]


def test_prose_streams_without_waiting() -> None:
    flt = CallFilter(KNOWN)
    assert flt.feed("Hello ") == "Hello "
    assert flt.feed("there, `x` and ``") == "there, `x` and "  # a fence may be starting
    assert flt.feed("y`` done") == "``y`` done"


@given(st.text(max_size=200))
@example("[INST]")  # found by hypothesis once markup stripping landed
def test_arbitrary_text_never_raises(text: str) -> None:
    shown, calls = extract_calls(text, KNOWN)
    flt = CallFilter(KNOWN)
    streamed = flt.feed(text)
    rest, _ = flt.finish()
    if not calls and not has_markup(text):  # template markup is stripped: its job
        assert shown == text
        assert streamed + rest == text
