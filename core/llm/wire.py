"""Decoding the OpenAI wire format (pure, tolerant of odd servers)."""

from __future__ import annotations

from typing import Any

from core.llm.types import Completion, LLMError, Usage


def _usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    return Usage(int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0))


def decode_chunk(chunk: Any) -> tuple[str, str | None, Usage | None]:
    """(text, finish_reason, usage) of one ``chat.completion.chunk`` (pure, tolerant)."""
    if not isinstance(chunk, dict):
        return "", None, None
    text, finish = "", None
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        text += delta.get("content") or ""
        finish = choice.get("finish_reason") or finish
    return text, finish, _usage(chunk.get("usage"))


def merge_tool_calls(calls: dict[int, list[str]], chunk: Any) -> None:
    """Fold one chunk's ``delta.tool_calls`` fragments into ``calls`` ([id, name, args])."""
    if not isinstance(chunk, dict):
        return
    for choice in chunk.get("choices") or ():
        for part in (choice.get("delta") or {}).get("tool_calls") or ():
            slot = calls.setdefault(int(part.get("index") or 0), ["", "", ""])
            function = part.get("function") or {}
            slot[0] = part.get("id") or slot[0]
            slot[1] += function.get("name") or ""
            slot[2] += function.get("arguments") or ""


def decode_completion(data: Any, endpoint: str) -> Completion:
    """A non-streamed ``chat.completion`` body as a Completion (pure)."""
    if not isinstance(data, dict) or not data.get("choices"):
        raise LLMError(f"{endpoint} answered without choices")
    choice = data["choices"][0]
    message = choice.get("message") or {}
    calls = tuple(message.get("tool_calls") or ())
    return Completion(message.get("content") or "", choice.get("finish_reason"),
                      _usage(data.get("usage")) or Usage(), endpoint, calls)
