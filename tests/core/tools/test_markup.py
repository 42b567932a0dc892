"""Open model families' call forms and template markup: calls recovered, markup never shown."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.tools.catalog import ALL
from core.tools.markup import OPENINGS, strip_markup
from core.tools.textcalls import extract_calls
from core.tools.textfilter import CallFilter

KNOWN = set(ALL)
ADD = {"name": "list_add", "arguments": {"list": "shopping", "items": ["eggs"]}}
SHOW = {"name": "list_show", "arguments": {"list": "shopping"}}

# (form, text the model wrote, calls, text the person sees)
CALLS: list[tuple[str, str, list[dict[str, Any]], str]] = [
    ("hermes", '<tool_call>\n{"name": "list_add", "arguments": {"list": "shopping", '
     '"items": ["eggs"]}}\n</tool_call>', [ADD], ""),
    ("hermes, unclosed", '<tool_call>\n{"name": "list_show", "arguments": '
     '{"list": "shopping"}}', [SHOW], ""),
    ("hermes, two", '<tool_call>{"name": "list_add", "arguments": {"list": "shopping", '
     '"items": ["eggs"]}}</tool_call>\n<tool_call>{"name": "list_show", "arguments": '
     '{"list": "shopping"}}</tool_call>', [ADD, SHOW], ""),
    ("hermes, words first", 'Adding eggs.\n<tool_call>\n{"name": "list_add", "arguments": '
     '{"list": "shopping", "items": ["eggs"]}}\n</tool_call><|im_end|>', [ADD], "Adding eggs."),
    ("qwen, imitated response after the call", '<tool_call>{"name": "list_show", '
     '"arguments": {"list": "shopping"}}</tool_call>\n<tool_response>\n{"items": []}\n'
     '</tool_response>', [SHOW], ""),
    ("mistral v3 list", '[TOOL_CALLS][{"name": "list_add", "arguments": {"list": "shopping", '
     '"items": ["eggs"]}}]', [ADD], ""),
    ("mistral v3, words first", 'Sure. [TOOL_CALLS] [{"name": "list_show", "arguments": '
     '{"list": "shopping"}}]</s>', [SHOW], "Sure."),
    ("mistral v11", '[TOOL_CALLS]list_add[ARGS]{"list": "shopping", "items": ["eggs"]}',
     [ADD], ""),
    ("mistral v11, two", '[TOOL_CALLS]list_add[ARGS]{"list": "shopping", "items": ["eggs"]}'
     '[TOOL_CALLS]list_show[ARGS]{"list": "shopping"}', [ADD, SHOW], ""),
    ("doubled braces", '{{"name": "list_add", "arguments": {{"list": "shopping", '
     '"items": ["eggs"]}}}}', [ADD], ""),
    ("doubled outer braces only", '{{"name": "list_show", "arguments": {"list": "shopping"}}}',
     [SHOW], ""),
    ("doubled braces in a hermes block", '<tool_call>{{"name": "list_show", "arguments": '
     '{{"list": "shopping"}}}}</tool_call>', [SHOW], ""),
]

# (family, reply with markup, what the person sees)
MARKUP: list[tuple[str, str, str]] = [
    ("chatml end", "Done, eggs are on the list.<|im_end|>", "Done, eggs are on the list."),
    ("chatml invented next turn", "Done.<|im_end|>\n<|im_start|>user\nthanks<|im_end|>",
     "Done."),
    ("chatml own header", "<|im_start|>assistant\nHello!", "Hello!"),
    ("qwen tool response imitated", "<tool_response>\nReminder r1 set.\n</tool_response>\n"
     "Your reminder is set.", "Your reminder is set."),
    ("qwen tool response unclosed", "All set. <tool_response>Reminder r1 set for",
     "All set."),
    ("llama eot", "See you then.<|eot_id|>", "See you then."),
    ("llama header", "<|start_header_id|>assistant<|end_header_id|>\n\nHi there.", "Hi there."),
    ("llama invented user turn", "Ok.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\nmore",
     "Ok."),
    ("llama ipython block", "<|start_header_id|>ipython<|end_header_id|>\n\n{\"ok\": true}"
     "<|eot_id|>Noted.", "Noted."),
    ("mistral inst", "Here you go.</s>[INST] and now? [/INST]", "Here you go."),
    ("mistral results", "[TOOL_RESULTS]{\"content\": 1}[/TOOL_RESULTS]Added.", "Added."),
    ("gemma", "<start_of_turn>model\nHi!<end_of_turn>", "Hi!"),
    ("phi", "Sure thing.<|end|><|user|>ok", "Sure thing."),
    ("reasoning block", "<think>they want eggs</think>Eggs added.", "Eggs added."),
    ("endoftext", "Bye.<|endoftext|>", "Bye."),
    ("kith's tool-result key repeated", "Shown to person: true", ""),
    ("kith's key after a sentence", "Done.\nshown_to_person: true", "Done."),
    ("kith's key alone (Qwen, bench.models)", "Shown to person.", ""),
]


def pieces(text: str, size: int) -> list[str]:
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


def streamed(text: str, size: int) -> tuple[str, list[dict[str, Any]]]:
    flt = CallFilter(KNOWN)
    shown = "".join(flt.feed(p) for p in pieces(text, size))
    rest, calls = flt.finish()
    return shown + rest, [{"name": c.name, "arguments": c.arguments} for c in calls]


@pytest.mark.parametrize(("form", "text", "calls", "shown"), CALLS, ids=[c[0] for c in CALLS])
def test_call_forms(form: str, text: str, calls: list[dict[str, Any]], shown: str) -> None:
    rest, found = extract_calls(text, KNOWN)
    assert [{"name": c.name, "arguments": c.arguments} for c in found] == calls
    assert rest == shown


@pytest.mark.parametrize("size", [1, 2, 5, 1000])
@pytest.mark.parametrize(("form", "text", "calls", "shown"), CALLS, ids=[c[0] for c in CALLS])
def test_call_forms_streamed(form: str, text: str, calls: list[dict[str, Any]], shown: str,
                             size: int) -> None:
    visible, found = streamed(text, size)
    assert found == calls
    assert visible.strip() == shown
    for marker in ("<tool_call>", "[TOOL_CALLS]", "[ARGS]", "<|", "{{", '"arguments"'):
        assert marker not in visible


@pytest.mark.parametrize(("family", "text", "shown"), MARKUP, ids=[m[0] for m in MARKUP])
def test_markup_stripped(family: str, text: str, shown: str) -> None:
    assert extract_calls(text, KNOWN) == (shown, [])


@pytest.mark.parametrize("size", [1, 3, 1000])
@pytest.mark.parametrize(("family", "text", "shown"), MARKUP, ids=[m[0] for m in MARKUP])
def test_markup_stripped_streamed(family: str, text: str, shown: str, size: int) -> None:
    visible, found = streamed(text, size)
    assert found == []
    assert visible.strip() == shown


def test_a_broken_hermes_call_is_not_shown() -> None:
    assert extract_calls('Ok <tool_call>{"name": "list_add", "argum', KNOWN) == ("Ok", [])


TOKENS = st.sampled_from([*(o for o in OPENINGS if o != "<|"), "<|im_start|>assistant\n",
                          "<|im_end|>", "<|eot_id|>", "</tool_response>", "</tool_call>",
                          "[/INST]", "<|end|>"])
PROSE = st.text(alphabet=st.characters(blacklist_characters="<>[]{}`|"), max_size=40)


@given(st.lists(st.one_of(PROSE, TOKENS), max_size=8), st.integers(1, 9))
def test_no_markup_survives_any_mix(parts: list[str], size: int) -> None:
    """Whatever mix of prose and template tokens, cut anywhere: no token reaches the person."""
    text = "".join(parts)
    visible, _ = streamed(text, size)
    for token in ("<|", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>",
                  "[TOOL_CALLS]", "[INST]", "[/INST]", "<think>", "</s>", "<end_of_turn>",
                  "<start_of_turn>"):
        assert token not in visible
    rest, _ = extract_calls(text, KNOWN)
    assert strip_markup(rest) == rest


@given(PROSE)
def test_prose_is_untouched(text: str) -> None:
    assert strip_markup(text) == text
    assert streamed(text, 4)[0] == text
