"""The bounded tool loop of one turn.

Each step streams the model with the turn's tools. Native ``tool_calls`` and calls written
as text (see :mod:`core.tools.textfilter`) are run; their results go back as ``tool``
messages appended after the prompt, so the prompt's stable prefix never changes. Invalid
arguments, unknown tools and refused calls are errors the model sees; after one repair
step that still fails, or after ``max_steps`` model calls, the person gets an honest reply.

The loop receives the context's trust (:class:`core.provenance.Taint`, from the prompt
builder) as one value, ``taint``; each model call is offered the tools the policy allows for
it, and a tool result of untrusted origin taints the rest of the turn (the next calls). The
turn's calls and results are kept as a :class:`core.history.ToolTrace` for its history.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass

from core.history import CallRecord, ToolStep, ToolTrace, tool_content
from core.llm import ChatMessage, ChatModel, ToolCall, Usage
from core.logging import get_logger
from core.provenance import Origin, Taint
from core.tools.acts import Acts
from core.tools.base import ToolContext, ToolError
from core.tools.guard import NOT_DONE, NOTHING_RAN, Guard
from core.tools.registry import Invalid, Registry, validate
from core.tools.textfilter import CallFilter

log = get_logger("kith.tools")
MAX_STEPS = 4
CAPPED = ("I stopped there: that took more steps than I allow myself for one message, so "
          "I may not have done all of it. /reminders shows what is set; ask me again for the "
          "rest.")
GAVE_UP = "I couldn't do that: {error}. Could you say it another way?"


@dataclass(frozen=True, slots=True)
class Outcome:
    text: str  # for the model
    notice: str = ""  # for the person
    failed: bool = False
    origin: Origin = Origin.KITH  # of ``text``: Kith's own errors, or the tool result's


class ToolLoop:
    def __init__(
        self, model: ChatModel, tools: Registry, ctx: ToolContext, *, taint: Taint,
        route_key: str, model_name: str | None, max_tokens: int, max_steps: int = MAX_STEPS,
        acts: Acts, instructions: str = "",
    ) -> None:
        self.acts = acts  # side-effect calls run through their durable action records
        self.model = model
        self.every = tools  # the bot's tools; each call is offered those the policy allows
        self.taint = taint  # the trust of the context: grows with untrusted tool results
        self.tools = tools.for_turn(ctx.inbound, taint)
        self.ctx = ctx
        self.known = set(tools.tools)  # names recognised in text
        self.route_key = route_key
        self.model_name = model_name
        self.max_tokens = max_tokens
        self.max_steps = max_steps
        self.usage = Usage()
        self.endpoint = ""
        self.model_calls = 0
        self.tool_calls = 0
        self._said = False  # something was shown already
        self._open = False  # the current paragraph is still streaming
        self.steps: list[ToolStep] = []
        self.said = ""  # the model's final words (without Kith's notices)
        self.instructions = instructions  # the persona and guidance: never recited to a person
        self.done = 0  # tool calls that ran without error this turn

    @property
    def trace(self) -> ToolTrace | None:
        """The turn's tool steps as they ran, for its history; None when it called none."""
        return ToolTrace(tuple(self.steps), self.said) if self.steps else None

    def _show(self, text: str, paragraph: bool = False) -> str:
        """``text`` for the person; a new paragraph starts after what was shown before."""
        lead = "\n\n" if self._said and (paragraph or not self._open) else ""
        self._said, self._open = True, not paragraph
        return lead + (text.lstrip() if lead else text)

    async def run(self, prompt: Sequence[ChatMessage]) -> AsyncIterator[str]:
        extra: list[ChatMessage] = []
        repaired = asked_again = False
        request = not self.ctx.inbound.text.rstrip().endswith("?")
        for step in range(self.max_steps):
            self.tools = self.every.for_turn(self.ctx.inbound, self.taint)
            calls: list[ToolCall] = []
            shown = CallFilter(self.known)
            # a claimed action while no tool ran this turn is held back, not shown
            guard = Guard(self.instructions + "\n" + NOTHING_RAN,
                          watch_claims=request and not self.done and bool(self.tools.tools),
                          tools=self.known)
            self._open = False
            async for delta in self.model.stream(
                [*prompt, *extra], route_key=self.route_key, model=self.model_name,
                max_tokens=self.max_tokens, tools=self.tools.schemas(),
            ):
                if delta.text and (text := guard.feed(shown.feed(delta.text))):
                    yield self._show(text)
                calls.extend(delta.tool_calls)
                self.usage = delta.usage or self.usage
                self.endpoint = delta.endpoint or self.endpoint
            self.model_calls += 1
            rest, written = shown.finish()
            if rest := guard.feed(rest) + guard.finish():
                yield self._show(rest)
            if guard.dropped:
                log.info("reply_recited_instructions", sentences=guard.dropped)
            calls += [ToolCall(f"call_text_{step}_{i}", c.name, json.dumps(c.arguments))
                      for i, c in enumerate(written)]
            if not calls and guard.held:
                log.info("reply_claimed_undone_action", asked_again=asked_again)
                if not asked_again and step + 1 < self.max_steps:
                    asked_again = True  # once more, told that nothing ran
                    extra.append(ChatMessage("system", NOTHING_RAN))
                    continue
                yield self._show(NOT_DONE, paragraph=True)
            if not calls:
                self.said = guard.text
                return
            if guard.held:  # a call follows what it announced: now it may be shown
                yield self._show(guard.held)
            extra.append(ChatMessage("assistant", shown.text, tool_calls=tuple(calls)))
            failures = []
            records: list[CallRecord] = []
            for call in calls:
                outcome = await self._call(call)
                if not outcome.origin.trusted:  # taints the rest of the turn, this step too
                    self.taint = self.taint.add(outcome.origin)
                    self.tools = self.every.for_turn(self.ctx.inbound, self.taint)
                extra.append(ChatMessage("tool", tool_content(
                    outcome.text, origin=outcome.origin, failed=outcome.failed,
                    shown=bool(outcome.notice)), tool_call_id=call.id))
                records.append(CallRecord(call.id, call.name, call.arguments, outcome.text,
                                          outcome.origin, outcome.failed, bool(outcome.notice)))
                if outcome.notice:
                    yield self._show(outcome.notice, paragraph=True)
                if outcome.failed:
                    failures.append(outcome.text)
                else:
                    self.done += 1
            self.steps.append(ToolStep(guard.text + guard.held, tuple(records)))
            if failures and repaired:
                reason = failures[0].removeprefix("error: ").rstrip(".")
                yield self._show(GAVE_UP.format(error=reason), paragraph=True)
                return
            repaired = repaired or bool(failures)
        log.warning("tool_loop_capped", steps=self.max_steps, tool_calls=self.tool_calls)
        yield self._show(CAPPED, paragraph=True)

    async def _call(self, call: ToolCall) -> Outcome:
        self.tool_calls += 1
        tool = self.tools.get(call.name)
        if tool is None:
            log.info("tool_unknown", tool=call.name[:64])
            have = ", ".join(self.tools.tools) or "none"
            return Outcome(f"error: there is no tool '{call.name[:64]}' here (available: "
                           f"{have}). Answer the person without it.", failed=True)
        args = validate(tool, call.arguments)
        if isinstance(args, Invalid):
            log.info("tool_invalid_arguments", tool=tool.name, error=args.error)
            return Outcome(f"error: invalid arguments for {tool.name}: {args.error}",
                           failed=True)
        try:
            result = await self.acts.run(tool, self.ctx, args, taint=self.taint)
        except ToolError as err:
            log.info("tool_refused", tool=tool.name, error=str(err))
            return Outcome(f"error: {err}", failed=True)
        log.info("tool_called", tool=tool.name)
        return Outcome(result.text, result.notice, origin=result.origin)
