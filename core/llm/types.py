"""The ChatModel seam: messages in, streamed deltas out (frozen values, no SDK types)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class ToolCall:
    """One call the model asked for: ``arguments`` is the JSON text it wrote."""

    id: str
    name: str
    arguments: str

    def wire(self) -> dict[str, Any]:
        return {"id": self.id, "type": "function",
                "function": {"name": self.name, "arguments": self.arguments}}


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # system, user, assistant, tool
    content: str
    tool_calls: tuple[ToolCall, ...] = ()  # assistant messages that called tools
    tool_call_id: str | None = None  # tool messages: the call this answers
    images: tuple[str, ...] = ()  # data URLs, sent as OpenAI ``image_url`` content parts

    def wire(self) -> dict[str, Any]:
        out: dict[str, Any] = {"role": self.role, "content": self.content}
        if self.images:
            out["content"] = [
                *({"type": "image_url", "image_url": {"url": url}} for url in self.images),
                {"type": "text", "text": self.content},
            ]
        if self.tool_calls:
            out["tool_calls"] = [call.wire() for call in self.tool_calls]
        if self.tool_call_id is not None:
            out["tool_call_id"] = self.tool_call_id
        return out


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of a streamed reply. The last one carries ``finish_reason``/``usage``."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    endpoint: str = ""
    tool_calls: tuple[ToolCall, ...] = ()  # complete native calls, on the last delta


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str | None
    usage: Usage
    endpoint: str
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Probe:
    """One endpoint's answer to ``GET /models``: the models it serves, or why it failed."""

    models: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class LLMError(Exception):
    """Every endpoint failed, or the reply broke off mid-stream."""

    def __init__(self, message: str, *, partial: bool = False) -> None:
        super().__init__(message)
        self.partial = partial


class ChatModel(Protocol):
    def stream(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, tools: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[Delta]: ...

    async def complete(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
        background: bool = False,
    ) -> Completion:
        """``background``: Kith's own work (extraction, summaries), not a person waiting: a
        local model that serves one request at a time answers every person first and lets
        it wait (and yield mid-reply) while anyone waits. Servers ignore it."""
        ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...
