"""The route's last step: the model answers (with the bot's tools, when it has some)."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Protocol
from zoneinfo import ZoneInfo

from core.commands import PREF_KEYS
from core.events import ConversationKey, ReplyStatus
from core.llm import ChatMessage, ChatModel, LLMError, Usage
from core.logging import get_logger
from core.memory.learner import Learner
from core.memory.service import MemoryService
from core.prompt import TOOL_GUIDANCE, Prompt, PromptInput, build_prompt, needs_summary
from core.provenance import Origin, message_origin, replies_to_third_party
from core.quoting import unsure_notice
from core.reply import span
from core.schedule.times import resolve_zone
from core.settings import PromptSettings
from core.steps import tool_context
from core.store.base import ConversationState, PersonStore
from core.store.base import Turn as Said
from core.summaries import HISTORY_FETCH, Summaries
from core.tokens import estimate_tokens
from core.tools.acts import Acts
from core.tools.loop import ToolLoop
from core.tools.registry import Registry
from core.tools.selection import Selector
from core.turn import Answer, Turn, record

log = get_logger("kith.agent")
UNREACHABLE = (
    "Sorry — I can't reach my language model right now. I've kept your message and will "
    "answer it once the model is back, if that's within {horizon}; after that I'll let you "
    "know it was dropped."
)
MISCONFIGURED = (
    "Sorry — my language model refused my credentials, so I can't answer this. That is a "
    "problem in my configuration, not something you did; my owner has to fix it."
)
INTERRUPTED = "\n\n(My connection to the language model dropped, so this reply is incomplete.)"
LABELS = {"name": "Call them", "language": "Reply in", "tone": "Tone", "length": "Length",
          "timezone": "Time zone", "signoff": "Their sign-off"}


def credentials_refused(err: LLMError) -> bool:
    """The model server answered 401/403: a configuration error, not an outage."""
    node: BaseException | None = err
    for _ in range(8):
        if node is None:
            return False
        if getattr(node, "status_code", None) in (401, 403):
            return True
        node = node.__cause__ or node.__context__
    return False


def profile_lines(prefs: Mapping[str, str]) -> list[tuple[str, str]]:
    return [(LABELS[k], prefs[k]) for k in PREF_KEYS if k in prefs]


def local_time(now: datetime, tz_name: str | None) -> str:
    try:
        tz = ZoneInfo(tz_name) if tz_name else UTC
    except (KeyError, ValueError):
        tz = UTC
    local = now.astimezone(tz)
    offset = local.strftime("%z")
    offset = f"UTC{offset[:3]}:{offset[3:]}" if offset else "UTC+00:00"
    return (f"Current time for them: {local:%A %d %B %Y, %H:%M} ({offset}, "
            f"{tz_name or 'UTC'}); they speak in this local time")


@dataclass(slots=True)
class _Read:
    """What one model reply streamed, besides its text."""

    usage: Usage = field(default_factory=Usage)
    endpoint: str = ""


class AnswerStore(PersonStore, Protocol):
    """What the answer reads: the conversation so far, and what its tools use."""

    async def recent(self, key: ConversationKey,
                     limit: int) -> tuple[ConversationState, list[Said]]: ...


@dataclass(frozen=True, slots=True)
class Limits:
    reply_tokens: int = 1024
    hold_for: float = 3600.0  # how long a message waits for a model (said when it is down)


class ModelAnswer:
    def __init__(self, store: AnswerStore, model: ChatModel, memory: MemoryService,
                 learner: Learner, tools: Mapping[str, Registry], summaries: Summaries,
                 prompt: PromptSettings, limits: Limits, selector: Selector | None = None,
                 ) -> None:
        self.store = store
        self.model = model
        self.memory = memory
        self.learner = learner
        self.tools = tools
        self.summaries = summaries
        self.prompt = prompt
        self.limits = limits
        # the few tools each request offers (≤ 2.8 KB of JSON)
        self.selector = selector or Selector()
        self._boundary_key = secrets.token_bytes(16)
        self._refusal_told = False  # the owner was told the model refused our credentials

    def boundary(self, conv: ConversationKey) -> str:
        """Marks quoted content: unguessable, and stable per conversation (KV prefix)."""
        return hmac.new(self._boundary_key, str(conv).encode(), hashlib.sha256).hexdigest()[:16]

    async def __call__(self, turn: Turn) -> Answer:
        return Answer(self._answer(turn))

    async def _answer(self, turn: Turn) -> AsyncIterator[str]:
        started = time.perf_counter()
        inbound, bot, reply = turn.inbound, turn.bot, turn.reply
        prompt = await self._prompt(turn)
        media = turn.media
        # e.g. "I can't look at photos"; "I read everything from … on as someone else's"
        notes = (media.notice if media else "", unsure_notice(inbound.quoted))
        lead = "".join(f"{n}\n\n" for n in notes if n)
        model = (media.model if media else None) or bot.model
        loop = await self._tool_loop(turn, model, prompt)
        read = _Read()
        parts: list[str] = []
        failed = False
        try:
            async for piece in self._stream(turn, loop, model, prompt.messages, read):
                if lead and not parts:
                    yield lead
                parts.append(piece)
                yield piece
        except LLMError as err:
            if not parts and credentials_refused(err):  # answered, not held: no retry helps
                self._tell_refused(err)
                reply.status = ReplyStatus.FAILED
                yield lead + MISCONFIGURED
                await record(turn, inbound.text, None, answer=lead + MISCONFIGURED)
                return
            failed = True
            reply.status = ReplyStatus.INTERRUPTED if parts else ReplyStatus.FAILED
            log.error("turn_failed", error=str(err), partial=bool(parts), held=turn.held)
            if not parts:  # not recorded: the dispatcher holds the message for a model
                if not turn.held:
                    yield lead + UNREACHABLE.format(horizon=span(self.limits.hold_for))
                return
            yield INTERRUPTED
        text = "".join(parts)
        if not failed:
            self._refusal_told = False
        await record(turn, inbound.text, None if failed else text, estimate_tokens(text),
                     answer=lead + (text + INTERRUPTED if failed else text),
                     trace=loop.trace if loop is not None else None)
        log.info(
            "turn", status=reply.status.value, endpoint=read.endpoint,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            prompt_tokens=read.usage.prompt_tokens or prompt.tokens,
            completion_tokens=read.usage.completion_tokens,
            history_dropped=prompt.dropped_turns,
        )
        if needs_summary(prompt):
            self.summaries.schedule(inbound, bot)
        if not failed and text:
            await self.learner.note(inbound, turn.person)  # batched extraction, off this path

    async def _stream(self, turn: Turn, loop: ToolLoop | None, model: str | None,
                      messages: Sequence[ChatMessage], read: _Read) -> AsyncIterator[str]:
        """The reply's text, from the tool loop or straight from the model."""
        if loop is not None:
            async for piece in loop.run(messages):
                yield piece
            read.usage, read.endpoint = loop.usage, loop.endpoint
            return
        async for delta in self.model.stream(
            messages, route_key=str(turn.inbound.conversation), model=model,
            max_tokens=self.limits.reply_tokens,
        ):
            read.usage = delta.usage or read.usage
            read.endpoint = delta.endpoint or read.endpoint
            if delta.text:
                yield delta.text

    def _tell_refused(self, err: LLMError) -> None:
        """Once (until a model answers again): the owner's log says what to fix."""
        if self._refusal_told:
            log.debug("llm_credentials_refused", error=str(err))
            return
        self._refusal_told = True
        log.error("llm_credentials_refused", error=str(err),
                  fix="check the model server's API key (KITH_LLM__API_KEY) and its access")

    async def _tool_loop(self, turn: Turn, model: str | None, prompt: Prompt) -> ToolLoop | None:
        """The tool loop for this turn, or None when the bot has no tools. The trust of the
        prompt's whole context (``prompt.taint``) decides the tools each call is offered."""
        every = self.tools[turn.bot.name]
        if not every:
            return None
        conv = turn.inbound.conversation
        return ToolLoop(
            self.model, self.selector.selecting(every, conv, turn.inbound.text),
            await tool_context(turn, self.store), taint=prompt.taint, route_key=str(conv),
            model_name=model, max_tokens=self.limits.reply_tokens,
            acts=Acts(self.store.actions, turn.bot.approvals),
            instructions=f"{turn.bot.persona}\n{TOOL_GUIDANCE}",  # never recited to the person
        )

    async def _prompt(self, turn: Turn) -> Prompt:
        inbound, bot, person = turn.inbound, turn.bot, turn.person
        conv = inbound.conversation
        prefs: Mapping[str, str] = await turn.prefs.get()
        profile = profile_lines(prefs)
        if not inbound.is_group:  # learned preferences and style are private
            learned, style = await self.memory.learned(person, turn.learned)
            prefs = {**learned, **prefs}  # explicit /prefs always win
            profile = profile_lines(prefs) + [("They like", note) for note in style]
        # a draft for a third party is written without the person's private memories
        recalled = ([] if replies_to_third_party(inbound)
                    else await self.memory.context(inbound, person))
        state, turns = await self.store.recent(conv, HISTORY_FETCH)
        media = turn.media
        zone = resolve_zone(prefs.get("timezone"), bot.timezone)[0]
        # recalled items are memories learned from the person's own words only (Kith's
        # records); media notes describe the message's own files: forwarded ones ride in
        # ``inbound.quoted``, so the message's origin covers them
        return build_prompt(PromptInput(
            persona=bot.persona,
            guidance=TOOL_GUIDANCE if self.tools[bot.name] else "",
            person_id=person,
            summary_origin=state.summary_origin,
            context_origins=[*(Origin.KITH for _ in recalled), message_origin(inbound)],
            profile=profile,
            summary=state.summary,
            turns=turns,
            volatile=[*recalled, *(media.volatile if media else ()),
                      local_time(turn.clock(), zone)],
            message=inbound.text,
            images=media.images if media else (),
            author=inbound.sender.display_name,
            is_group=inbound.is_group,
            quoted=inbound.quoted,
            boundary=self.boundary(conv),
            budget_tokens=self.prompt.budget_tokens,
            history_share=self.prompt.history_share,
            block_turns=self.prompt.block_turns,
            reply_tokens=self.limits.reply_tokens,
        ))
