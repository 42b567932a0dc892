"""Tool calls a local model wrote as text instead of native ``tool_calls`` (pure).

Recognised (Llama 3.1/3.3 and 3.2 documented formats, and what servers without a tool
parser pass through):

- JSON: ``{"name": "f", "parameters": {...}}`` (or ``"arguments"``, or the OpenAI
  ``{"type": "function", "function": {...}}`` shape), a list of them, or several separated
  by ``;`` — with or without a leading ``<|python_tag|>``;
- pythonic: ``[f(a="x", b=2), g()]`` or ``f(a="x")`` — parsed with :mod:`ast`, values read
  with ``ast.literal_eval``, never evaluated;
- ``<function=f>{...}</function>`` (Llama 3.1 custom tool format);
- Hermes/Qwen ``<tool_call>{"name": …, "arguments": …}</tool_call>`` (closed or not);
- Mistral ``[TOOL_CALLS][{"name": …, "arguments": …}]`` and ``[TOOL_CALLS]f[ARGS]{…}``;
- JSON with doubled braces ``{{"name": …}}`` (a template's escaping copied by the model);
- any of these inside a Markdown code fence.

Chat-template markup left around them is removed from the text to show
(:mod:`core.tools.markup`).

JSON with an explicit name and parameters is a call whatever the name (the loop tells the
model when the tool does not exist). Pythonic text counts only for names of known tools,
so a reply that shows some code is left alone.
"""

from __future__ import annotations

import ast
import json
import re
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from core.tools.markup import strip_markup

PYTHON_TAG = "<|python_tag|>"  # Llama 3.x: what follows is a tool call
PYTHON_START = "<|python_start|>"  # Llama 4's pair around a pythonic call
END_TOKENS = ("<|eom_id|>", "<|eot_id|>", "<|end_of_text|>", "<|python_end|>", "<|eom|>",
              "<|eot|>")
_FENCE = re.compile(r"```[ \t]*([A-Za-z0-9_+-]*)[ \t]*\n?(.*?)```", re.DOTALL)
_FUNCTION_TAG = re.compile(r"<function=([A-Za-z_][\w.-]*)>(.*?)</function>", re.DOTALL)
_HERMES = re.compile(r"<tool_call>(.*?)(?:</tool_call>|(?=<tool_call>)|\Z)", re.DOTALL)
MISTRAL_TAG = "[TOOL_CALLS]"
_MISTRAL_NAMED = re.compile(r"\s*([A-Za-z_][\w.-]*)\s*(?:\[CALL_ID\]\s*\w+\s*)?\[ARGS\]")


@dataclass(frozen=True, slots=True)
class TextCall:
    name: str
    arguments: dict[str, Any]


def _strip_tokens(text: str) -> str:
    for token in END_TOKENS:
        text = text.replace(token, "")
    return text.replace(PYTHON_START, PYTHON_TAG).strip()


def _from_object(obj: Any) -> TextCall | None:
    if not isinstance(obj, dict):
        return None
    if isinstance(obj.get("function"), dict) and "name" not in obj:
        obj = obj["function"]
    name = obj.get("name")
    if not isinstance(name, str) or not name:
        return None
    args = obj.get("parameters", obj.get("arguments", {}))
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            return None
    if not isinstance(args, dict) or set(obj) - {"name", "parameters", "arguments", "type", "id"}:
        return None
    return TextCall(name, args)


def parse_json_calls(text: str) -> list[TextCall] | None:
    """One or more JSON calls making up all of ``text``; None when it is anything else."""
    text = text.strip()
    calls = _json_calls(text)
    if calls is None and text.startswith("{{") and text.endswith("}}"):
        # doubled braces: all of them, or only the outer pair
        calls = _json_calls(text.replace("{{", "{").replace("}}", "}")) or _json_calls(
            text[1:-1])
    return calls


def _json_calls(text: str) -> list[TextCall] | None:
    decoder, at, calls = json.JSONDecoder(), 0, []
    while at < len(text):
        try:
            value, end = decoder.raw_decode(text, at)
        except ValueError:
            return None
        items = value if isinstance(value, list) else [value]
        for item in items:
            call = _from_object(item)
            if call is None:
                return None
            calls.append(call)
        at = end
        while at < len(text) and text[at] in " \t\r\n;,":
            at += 1
    return calls or None


def _literal(node: ast.expr) -> Any:
    return ast.literal_eval(node)


def _from_ast_call(node: ast.expr, known: Collection[str]) -> TextCall | None:
    if not isinstance(node, ast.Call) or node.args:
        return None
    func = node.func
    if isinstance(func, ast.Attribute) and func.attr == "call" and isinstance(func.value, ast.Name):
        name = func.value.id  # Llama 3.1 built-in form: brave_search.call(query="…")
    elif isinstance(func, ast.Name):
        name = func.id
    else:
        return None
    if name not in known:
        return None
    args: dict[str, Any] = {}
    for keyword in node.keywords:
        if keyword.arg is None:
            return None
        try:
            args[keyword.arg] = _literal(keyword.value)
        except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
            return None
    return TextCall(name, args)


def parse_pythonic_calls(text: str, known: Collection[str]) -> list[TextCall] | None:
    """``[f(a=1), g(b="x")]`` or ``f(a=1)`` of known tools; None otherwise. Never evaluates."""
    text = text.strip()
    if not text or len(text) > 20_000:
        return None
    try:
        tree = ast.parse(text, mode="eval")
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return None
    body = tree.body
    nodes = list(body.elts) if isinstance(body, ast.List | ast.Tuple) else [body]
    calls = [_from_ast_call(n, known) for n in nodes]
    if not calls or any(c is None for c in calls):
        return None
    return [c for c in calls if c is not None]


def parse_block(text: str, known: Collection[str]) -> list[TextCall] | None:
    """The calls that make up all of ``text`` (one block), or None."""
    text = _strip_tokens(text)
    if text.startswith(PYTHON_TAG):
        text = text[len(PYTHON_TAG):].strip()
    if not text:
        return None
    tagged = [(m.group(1), m.group(2)) for m in _FUNCTION_TAG.finditer(text)]
    if tagged and not _FUNCTION_TAG.sub("", text).strip(" \t\r\n;"):
        calls = []
        for name, body in tagged:
            try:
                args = json.loads(body) if body.strip() else {}
            except ValueError:
                return None
            if not isinstance(args, dict):
                return None
            calls.append(TextCall(name, args))
        return calls
    return parse_json_calls(text) or parse_pythonic_calls(text, known)


def _mistral(text: str, known: Collection[str]) -> list[TextCall] | None:
    """What follows ``[TOOL_CALLS]``: a JSON list, or ``f[ARGS]{…}`` (v11), repeated."""
    calls: list[TextCall] = []
    for part in text.split(MISTRAL_TAG):
        if not part.strip():
            continue
        named = _MISTRAL_NAMED.match(part)
        if named is not None:
            try:
                args = json.loads(strip_markup(part[named.end():]) or "{}")
            except ValueError:
                return None
            if not isinstance(args, dict):
                return None
            calls.append(TextCall(named.group(1), args))
            continue
        found = parse_block(strip_markup(part), known)
        if found is None:
            return None
        calls.extend(found)
    return calls or None


def _tagged(text: str, known: Collection[str]) -> tuple[str, list[TextCall]] | None:
    """Hermes/Qwen ``<tool_call>`` blocks and Mistral ``[TOOL_CALLS]``: (rest, calls)."""
    found: list[TextCall] = []
    bad = False

    def hermes(match: re.Match[str]) -> str:
        nonlocal bad
        calls = parse_block(match.group(1), known)
        if calls is None:
            bad = True
            return ""  # a broken call is still not for the person
        found.extend(calls)
        return ""

    rest = _HERMES.sub(hermes, text) if "<tool_call>" in text else text
    if MISTRAL_TAG in rest:
        before, _, after = rest.partition(MISTRAL_TAG)
        calls = _mistral(after, known)
        if calls is not None:
            found.extend(calls)
        rest = before
    if not found and not bad and rest == text:
        return None
    return rest, found


def extract_calls(text: str, known: Collection[str]) -> tuple[str, list[TextCall]]:
    """Split a reply into the text to show and the tool calls written in it.

    The whole reply may be calls, a ``<|python_tag|>`` may start them after some words, or
    they may sit in code fences among words. Text that holds no call comes back unchanged.
    """
    whole = parse_block(text, known)
    if whole is not None:
        return "", whole
    tagged_calls = _tagged(text, known)
    if tagged_calls is not None:
        rest, tag_calls = tagged_calls
        shown, more = extract_calls(rest, known) if rest.strip() else ("", [])
        return shown.strip(), tag_calls + more
    tagged = _strip_tokens(text)
    if PYTHON_TAG in tagged:
        before, _, after = tagged.partition(PYTHON_TAG)
        after_tag = parse_block(after, known)
        if after_tag is not None:
            return before.strip(), after_tag
    found: list[TextCall] = []

    def fence(match: re.Match[str]) -> str:
        calls = parse_block(match.group(2), known)
        if calls is None:
            return match.group(0)
        found.extend(calls)
        return ""

    rest = _FENCE.sub(fence, text)
    if not found:
        for match in _FUNCTION_TAG.finditer(text):
            found.extend(parse_block(match.group(0), known) or [])
        if found:
            rest = _FUNCTION_TAG.sub("", text)
    if not found:
        return strip_markup(text), []
    return strip_markup(re.sub(r"\n{3,}", "\n\n", _strip_tokens(rest)).strip()), found
