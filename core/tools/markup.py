"""Chat-template markup of the common open model families, kept out of what a person sees (pure).

A small model sometimes writes its template's control text as plain text: Qwen/Hermes
``<tool_call>``/``<tool_response>``, ChatML ``<|im_start|>``/``<|im_end|>``, Llama 3
``<|eot_id|>`` and header ids, Mistral ``[TOOL_CALLS]``/``[INST]``, Gemma
``<start_of_turn>``, Phi ``<|end|>``, reasoning ``<think>`` blocks. :func:`strip_markup`
removes all of it: a block the model only imitated (a tool response, a reasoning block)
goes with its content, a turn the model started writing for someone else (``user``,
``system``, ``tool``) ends the reply there, and lone tokens simply disappear.

Calls written inside ``<tool_call>`` or after ``[TOOL_CALLS]`` are parsed by
:mod:`core.tools.textcalls` before this runs.
"""

from __future__ import annotations

import re

# Blocks that are never the assistant's words: removed with what they hold (to the end
# when the model never closed them).
_BLOCKS = re.compile(
    r"<tool_response>.*?(?:</tool_response>|\Z)"
    r"|\[TOOL_RESULTS\].*?(?:\[/TOOL_RESULTS\]|\Z)"
    r"|<think>.*?(?:</think>|\Z)"
    r"|<\|start_header_id\|>\s*(?:ipython|tool)\s*<\|end_header_id\|>.*?(?:<\|eot_id\|>|\Z)",
    re.DOTALL,
)
# The model started another party's turn: nothing from here on is its reply.
_OTHER_TURN = re.compile(
    r"<\|im_start\|>\s*(?:user|system|tool)\b"
    r"|<\|start_header_id\|>\s*(?:user|system)\s*<\|end_header_id\|>"
    r"|<start_of_turn>\s*user\b"
    r"|<\|(?:user|system)\|>"
    r"|\[INST\]"
)
# Role headers of its own turn, and lone control tokens.
_TOKENS = re.compile(
    r"<\|im_start\|>\s*assistant\b\n?"
    r"|<\|start_header_id\|>\s*assistant\s*<\|end_header_id\|>\n*"
    r"|<start_of_turn>\s*model\b\n?"
    r"|<\|(?:im_start|im_end|im_sep|eot_id|eom_id|end_of_text|endoftext|begin_of_text|end"
    r"|eot|eom|assistant|python_tag|python_start|python_end|start_header_id|end_header_id"
    r"|file_separator|fim_prefix|fim_middle|fim_suffix)\|>"
    r"|<\|[A-Za-z0-9_]{1,40}\|>"  # any other special token of that shape
    r"|</?tool_call>|</?tool_response>|</?think>|</?tools>"
    r"|<end_of_turn>|<start_of_turn>|</s>|<s>"
    r"|\[/?(?:TOOL_CALLS|TOOL_RESULTS|AVAILABLE_TOOLS|INST|ARGS|CALL_ID)\]"
)

# What may begin markup, for a stream that must hold text back until it can tell.
OPENINGS = ("<|", "<tool_call>", "</tool_call>", "<tool_response>", "</tool_response>",
            "<think>", "</think>", "<tools>", "[TOOL_CALLS]", "[TOOL_RESULTS]",
            "[AVAILABLE_TOOLS]", "[INST]", "[/INST]", "<start_of_turn>", "<end_of_turn>",
            "</s>", "shown_to_person", "Shown to person", "shown to person",
            "Shown_to_person")


# Kith's own tool-result vocabulary, which a small model sometimes repeats as its reply
_KITH = re.compile(
    r"^[ \t]*\W{0,2}shown[_ ]to[_ ]person\W{0,2}[ \t]*(?:[:=][ \t]*(?:true|false))?\W?[ \t]*$",
    re.IGNORECASE | re.MULTILINE)


def has_markup(text: str) -> bool:
    return bool(_BLOCKS.search(text) or _OTHER_TURN.search(text) or _TOKENS.search(text)
                or _KITH.search(text))


def strip_markup(text: str) -> str:
    """``text`` without template markup; unchanged when it holds none."""
    if not has_markup(text):
        return text
    text = _BLOCKS.sub("", text)
    other = _OTHER_TURN.search(text)
    if other is not None:
        text = text[:other.start()]
    text = _KITH.sub("", _TOKENS.sub("", text))
    return re.sub(r"\n{3,}", "\n\n", text).strip()
