"""What a turn did with tools, as stored with the turn and as replayed to the model.

A turn that called tools keeps its calls and their results (a :class:`ToolTrace` on the
assistant turn), so later prompts show the model what really happened — in the chat format,
assistant ``tool_calls`` followed by ``tool`` messages — instead of only the words the person
saw. What Kith showed the person as a notice ("Reminder set: …") is never put in the
assistant's mouth: the replayed assistant text is the model's own words, and the tool message
says, in its structure, that the person was shown the outcome.

Replay is compact and positional-free: a stored result is clipped to :data:`CLIP` characters
once, whatever the turn's age, so a turn renders the same bytes in every later prompt and the
prompt's stable prefix never changes (the full result served its own turn). The number of
steps per turn is bounded by the tool loop, so a replayed turn is bounded too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from core.events import Inbound
from core.llm import ChatMessage, ToolCall
from core.provenance import Origin, message_origin
from core.tokens import estimate_tokens, message_tokens

CLIP = 400  # characters of a stored tool result that later prompts see


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One tool call and what came of it."""

    id: str
    name: str
    arguments: str  # the JSON text the model wrote
    result: str  # what the model was told (an error's text when ``failed``)
    origin: Origin  # where ``result`` came from
    failed: bool = False
    shown: bool = False  # the person was shown a notice of it


@dataclass(frozen=True, slots=True)
class ToolStep:
    """One model call of the loop that asked for tools: its own words and its calls."""

    said: str
    calls: tuple[CallRecord, ...]


@dataclass(frozen=True, slots=True)
class ToolTrace:
    """A turn's tool steps and the model's final words (without Kith's notices)."""

    steps: tuple[ToolStep, ...]
    said: str

    @property
    def taint(self) -> Origin | None:
        """The first untrusted origin among the results, or None."""
        return next((c.origin for s in self.steps for c in s.calls if not c.origin.trusted),
                    None)


def tool_content(result: str, *, origin: Origin, failed: bool = False,
                 shown: bool = False) -> str:
    """A ``tool`` message's content: structure, never an instruction a model might repeat.

    ``shown_to_person``: Kith already showed the person what was done (the system prompt
    says what the model does with that). ``origin`` is named for results that are data
    from outside the person (a web page, an MCP server).
    """
    body: dict[str, Any] = ({"error": result.removeprefix("error: ")} if failed
                            else {"result": result})
    if shown:
        body["shown_to_person"] = True
    if not origin.trusted:
        body["origin"] = origin.value
    return json.dumps(body, ensure_ascii=False)


def clip(text: str, limit: int = CLIP) -> str:
    return text if len(text) <= limit else text[:limit].rstrip() + " …"


def replay(trace: ToolTrace) -> list[ChatMessage]:
    """The turn as chat messages: per step, the call and its results; then the final words."""
    out: list[ChatMessage] = []
    for step in trace.steps:
        out.append(ChatMessage("assistant", step.said, tool_calls=tuple(
            ToolCall(c.id, c.name, c.arguments) for c in step.calls)))
        out += [ChatMessage("tool", tool_content(clip(c.result), origin=c.origin,
                                                 failed=c.failed, shown=c.shown),
                            tool_call_id=c.id) for c in step.calls]
    if trace.said:
        out.append(ChatMessage("assistant", trace.said))
    return out


def replay_tokens(trace: ToolTrace) -> int:
    """What a replay costs in the prompt, estimated as an upper bound (the history budget)."""
    return sum(message_tokens(m.content) + sum(estimate_tokens(c.name + c.arguments)
                                               for c in m.tool_calls)
               for m in replay(trace))


# -- storage ---------------------------------------------------------------------------------


def trace_to_json(trace: ToolTrace | None) -> str:
    if trace is None or not trace.steps:
        return ""
    return json.dumps({"said": trace.said, "steps": [
        {"said": s.said, "calls": [[c.id, c.name, c.arguments, clip(c.result), c.origin.value,
                                    int(c.failed), int(c.shown)] for c in s.calls]}
        for s in trace.steps]}, ensure_ascii=False, separators=(",", ":"))


def trace_from_json(text: str) -> ToolTrace | None:
    if not text:
        return None
    data = json.loads(text)
    return ToolTrace(tuple(
        ToolStep(s["said"], tuple(CallRecord(c[0], c[1], c[2], c[3], Origin(c[4]), bool(c[5]),
                                             bool(c[6])) for c in s["calls"]))
        for s in data["steps"]), data["said"])


def user_origin(inbound: Inbound) -> Origin:
    return message_origin(inbound)


def reply_origin(inbound: Inbound, trace: ToolTrace | None) -> Origin:
    """What the reply was written from, directly: the quoted words of its own message or an
    untrusted tool result make it untrusted (a source of taint); otherwise Kith's own."""
    read = message_origin(inbound)
    if not read.trusted:
        return read
    return (trace.taint if trace is not None else None) or Origin.KITH

