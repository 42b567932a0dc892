"""One turn: load context, build the prompt, stream the model, persist, schedule upkeep."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import secrets
import time
from collections.abc import AsyncIterator, Callable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from core import metrics
from core.calendar.model import Calendar, Calendars
from core.calendar.turn import for_turn
from core.commands import PREF_KEYS, CommandContext, parse_command, run_command
from core.events import ConversationKey, Inbound, ReplyStatus, Trust
from core.history import ToolTrace
from core.inbox.driver import commit_alone
from core.llm import ChatModel, LLMError, Usage
from core.llm.priority import background
from core.logging import get_logger
from core.media import MediaPipeline, MediaTurn
from core.memory.embedder import Embedder
from core.memory.learner import Learner
from core.memory.rerank import Reranker
from core.memory.service import MemoryService, MemorySettings
from core.profile import BotProfile
from core.prompt import (
    TOOL_GUIDANCE,
    Prompt,
    PromptInput,
    build_prompt,
    needs_summary,
    summary_origin,
    summary_prompt,
)
from core.provenance import Origin, Taint, message_origin, replies_to_third_party
from core.quoting import unsure_notice
from core.reply import Reply, span
from core.schedule.deliver import scheduled_text
from core.schedule.times import resolve_zone
from core.settings import PromptSettings
from core.store.base import Store, TurnRecord
from core.tokens import estimate_tokens
from core.tools import catalog
from core.tools.acts import Acts
from core.tools.approvals import NOT_WAITING, parse_answer, settle
from core.tools.base import ToolContext
from core.tools.loop import ToolLoop
from core.tools.registry import Registry
from core.tools.selection import Selector

log = get_logger("kith.agent")

HISTORY_FETCH = 400  # most turns loaded after the summary's cutoff
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
PAIRING = (
    "Hi! I'm a private assistant and only talk with people my owner has approved. "
    "If you know them, send them this code: {code}"
)


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
    labels = {"name": "Call them", "language": "Reply in", "tone": "Tone", "length": "Length",
              "timezone": "Time zone", "signoff": "Their sign-off"}
    return [(labels[k], prefs[k]) for k in PREF_KEYS if k in prefs]


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


class Agent:
    def __init__(
        self,
        store: Store,
        model: ChatModel,
        bots: Mapping[str, BotProfile],
        prompt: PromptSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reply_tokens: int = 1024,
        memory: MemorySettings | None = None,
        reranker: Reranker | None = None,
        embedder: Embedder | None = None,
        hold_for: float = 3600.0,
        media: MediaPipeline | None = None,
        calendars: Calendars | None = None,
        tools: Mapping[str, Registry] | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.bots = dict(bots)
        self.prompt = prompt or PromptSettings()
        self.clock = clock
        self.reply_tokens = reply_tokens
        self.hold_for = hold_for
        self._background: set[asyncio.Task[None]] = set()
        self._summarizing: set[str] = set()
        self.memory = MemoryService(store.memories, model, clock, memory, reranker, embedder)
        self.media = media
        self.calendars = calendars
        self.tools = tools if tools is not None else {
            name: catalog.registry(bot.tools) for name, bot in self.bots.items()}
        self.selector = Selector()  # the few tools each request offers (≤ 2.5 KB of JSON)
        self.learner = Learner(self.memory, store.memories.queue, self._model_for)
        self._boundary_key = secrets.token_bytes(16)
        self._refusal_told = False  # the owner was told the model refused our credentials

    def _model_for(self, conversation: str) -> str | None:
        bot = self.bots.get(ConversationKey.parse(conversation).bot)
        return bot.model if bot is not None else None

    def _calendar(self, inbound: Inbound) -> Calendar | None:
        """The owner's calendar, for the owner in a direct chat; nobody else's, nowhere else."""
        if self.calendars is None:
            return None
        owner = inbound.trust is Trust.OWNER and not inbound.is_group
        return for_turn(self.calendars.reader(inbound.conversation.bot, owner))  # one round

    def boundary(self, conv: ConversationKey) -> str:
        """Marks quoted content: unguessable, and stable per conversation (KV prefix)."""
        return hmac.new(self._boundary_key, str(conv).encode(), hashlib.sha256).hexdigest()[:16]

    def turn(self, inbound: Inbound, *, held: bool = False) -> Reply:
        """One turn's reply; its outcome is the reply's ``status`` and ``record`` (the turn,
        handed to ``reply.commit``: the dispatcher writes it with the message's status; run
        alone, it is recorded here). When no model answers, the status is FAILED, the turn
        is not recorded (the dispatcher holds the message and runs it again later), and
        the person is told so — unless ``held``: they were told already."""
        reply = Reply(inbound)
        reply.on_commit(lambda record: commit_alone(self.store, record))
        return reply.attach(self._run(inbound, reply, held))

    async def _run(self, inbound: Inbound, reply: Reply, held: bool) -> AsyncIterator[str]:
        conv = inbound.conversation
        person = await self.store.person_for(inbound.sender.identity_space(conv.channel),
                                             inbound.sender)
        if inbound.trust is Trust.UNKNOWN:
            pairing = await self.store.pairing(conv.bot, conv.channel, inbound.sender)
            if not pairing.approved:
                reply.status = ReplyStatus.REFUSED
                answer = PAIRING.format(code=pairing.code) if pairing.new else None
                if answer:
                    yield answer
                await self._finish(inbound, person, None, None, answer=answer, reply=reply)
                return
        if inbound.scheduled is not None:  # a reminder or briefing that came due
            text = await scheduled_text(self.store, person, inbound.scheduled, self.clock(),
                                        self._calendar(inbound))
            if text:
                yield text
            await self._finish(inbound, person, None, text or None, answer=text or None,
                               reply=reply)  # stored until the platform accepts it
            return
        if not inbound.wants_answer:
            await self._finish(inbound, person, inbound.text, None, reply=reply)
            return
        said = await self._answer_proposal(inbound, person)  # a yes or no to a proposal
        if said is not None:
            reply.status = ReplyStatus.COMMAND
            yield said
            await self._finish(inbound, person, inbound.text, said, answer=said, reply=reply,
                               command=True)
            return
        command = parse_command(inbound.text) if not inbound.quoted else None  # bare only
        if command is not None:
            bot_tz = self.bots[conv.bot].timezone
            ctx = CommandContext(inbound, person, self.store, self.clock, bot_tz,
                                 self._calendar(inbound))
            answer = await run_command(command, ctx)
            if answer is not None:
                if self.media is not None and command.name in ("forget", "reset"):
                    self.media.forget(inbound)
                reply.status = ReplyStatus.COMMAND
                yield answer
                await self._finish(inbound, person, inbound.text, answer, answer=answer,
                                   reply=reply, command=True)
                return
        media = MediaTurn(inbound)
        if self.media is not None:  # voice notes and photos: what this turn sees of them
            media = await self.media.prepare(inbound, self.bots[conv.bot].vision_model)
            inbound = media.inbound
            if not media.answer:
                yield media.notice
                await self._finish(inbound, person, inbound.text, media.notice,
                                   answer=media.notice, reply=reply)
                return
        async for piece in self._answer(inbound, person, reply, held, media):
            yield piece

    async def _answer(self, inbound: Inbound, person: str, reply: Reply,
                      held: bool, media: MediaTurn) -> AsyncIterator[str]:
        started = time.perf_counter()
        bot = self.bots[inbound.conversation.bot]
        prompt = await self._prompt(inbound, person, bot, media)
        usage, endpoint = Usage(), ""
        parts: list[str] = []
        failed = False
        # e.g. "I can't look at photos"; "I read everything from … on as someone else's"
        lead = "".join(f"{n}\n\n" for n in (media.notice, unsure_notice(inbound.quoted)) if n)
        model = media.model or bot.model
        loop = await self._tool_loop(inbound, person, bot, model, prompt.taint)
        try:
            if loop is not None:
                async for piece in loop.run(prompt.messages):
                    if lead and not parts:
                        yield lead
                    parts.append(piece)
                    yield piece
                usage, endpoint = loop.usage, loop.endpoint
            else:
                async for delta in self.model.stream(
                    prompt.messages, route_key=str(inbound.conversation), model=model,
                    max_tokens=self.reply_tokens,
                ):
                    if delta.text:
                        if lead and not parts:
                            yield lead
                        parts.append(delta.text)
                        yield delta.text
                    usage = delta.usage or usage
                    endpoint = delta.endpoint or endpoint
        except LLMError as err:
            if not parts and credentials_refused(err):  # answered, not held: no retry helps
                self._tell_refused(err)
                reply.status = ReplyStatus.FAILED
                yield lead + MISCONFIGURED
                await self._finish(inbound, person, inbound.text, None,
                                   answer=lead + MISCONFIGURED, reply=reply)
                return
            failed = True
            reply.status = ReplyStatus.INTERRUPTED if parts else ReplyStatus.FAILED
            log.error("turn_failed", error=str(err), partial=bool(parts), held=held)
            if not parts:  # not recorded: the dispatcher holds the message for a model
                if not held:
                    yield lead + UNREACHABLE.format(horizon=span(self.hold_for))
                return
            yield INTERRUPTED
        text = "".join(parts)
        if not failed:
            self._refusal_told = False
        await self._finish(
            inbound, person, inbound.text, None if failed else text, estimate_tokens(text),
            answer=lead + (text + INTERRUPTED if failed else text), reply=reply,
            trace=loop.trace if loop is not None else None,
        )
        log.info(
            "turn", status=reply.status.value, endpoint=endpoint,
            latency_ms=round((time.perf_counter() - started) * 1000, 1),
            prompt_tokens=usage.prompt_tokens or prompt.tokens,
            completion_tokens=usage.completion_tokens, history_dropped=prompt.dropped_turns,
        )
        if needs_summary(prompt):
            self._schedule_summary(inbound, bot)
        if not failed and text:
            await self.learner.note(inbound, person)  # batched extraction, off this path

    async def _tool_context(self, inbound: Inbound, person: str, bot: BotProfile) -> ToolContext:
        prefs = await self.store.preferences(person)
        zone, source = resolve_zone(prefs.get("timezone"), bot.timezone)
        return ToolContext(inbound, person, self.store, self.clock, zone, source,
                           self._calendar(inbound))

    async def _answer_proposal(self, inbound: Inbound, person: str) -> str | None:
        """The person's bare yes or no (or a platform control's answer) decides their newest
        proposed action here (or the one the control names)."""
        decision = inbound.decision
        approve = decision.approve if decision else parse_answer(inbound.text)
        bot = self.bots[inbound.conversation.bot]
        if approve is None or not self.tools[bot.name]:
            return None
        ctx = await self._tool_context(inbound, person, bot)
        said = await settle(self.store.actions, self.tools[bot.name], ctx, approve,
                            decision.action_id if decision else None)
        return NOT_WAITING if said is None and decision else said

    def _tell_refused(self, err: LLMError) -> None:
        """Once (until a model answers again): the owner's log says what to fix."""
        if self._refusal_told:
            log.debug("llm_credentials_refused", error=str(err))
            return
        self._refusal_told = True
        log.error("llm_credentials_refused", error=str(err),
                  fix="check the model server's API key (KITH_LLM__API_KEY) and its access")

    async def _tool_loop(self, inbound: Inbound, person: str, bot: BotProfile,
                         model: str | None, taint: Taint) -> ToolLoop | None:
        """The tool loop for this turn, or None when the bot has no tools. ``taint``: the
        trust of the prompt's whole context, which decides the tools each call is offered."""
        every = self.tools[bot.name]
        if not every:
            return None
        ctx = await self._tool_context(inbound, person, bot)
        acts = Acts(self.store.actions, bot.approvals)
        return ToolLoop(
            self.model, self.selector.selecting(every, str(inbound.conversation),
                                                inbound.text), ctx, taint=taint,
            route_key=str(inbound.conversation), model_name=model,
            max_tokens=self.reply_tokens, acts=acts,
        )

    async def _prompt(self, inbound: Inbound, person: str, bot: BotProfile,
                      media: MediaTurn) -> Prompt:
        conv = inbound.conversation
        prefs = await self.store.preferences(person)
        profile = profile_lines(prefs)
        if not inbound.is_group:  # learned preferences and style are private
            learned, style = await self.memory.learned(person)
            prefs = {**learned, **prefs}  # explicit /prefs always win
            profile = profile_lines(prefs) + [("They like", note) for note in style]
        # a draft for a third party is written without the person's private memories
        recalled = ([] if replies_to_third_party(inbound)
                    else await self.memory.context(inbound, person))
        state = await self.store.conversation(conv)
        turns = await self.store.history(conv, state.summary_upto, HISTORY_FETCH)
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
            volatile=[*recalled, *media.volatile, local_time(self.clock(), resolve_zone(
                prefs.get("timezone"), bot.timezone)[0])],
            message=inbound.text,
            images=media.images,
            author=inbound.sender.display_name,
            is_group=inbound.is_group,
            quoted=inbound.quoted,
            boundary=self.boundary(conv),
            budget_tokens=self.prompt.budget_tokens,
            history_share=self.prompt.history_share,
            block_turns=self.prompt.block_turns,
            reply_tokens=self.reply_tokens,
        ))

    async def _finish(
        self, inbound: Inbound, person: str, user_text: str | None, reply_text: str | None,
        reply_tokens: int = 0, *, reply: Reply, answer: str | None = None,
        command: bool = False, trace: ToolTrace | None = None,
    ) -> None:
        """Hand the finished turn to the reply; an ``answer`` is stored until the platform
        accepts it."""
        await reply.commit(TurnRecord(
            inbound=inbound, person_id=person, user_text=user_text, reply_text=reply_text,
            user_tokens=estimate_tokens(
                (user_text or "") + "".join(q.text for q in inbound.quoted)),
            reply_tokens=reply_tokens, answer=answer or None,
            answer_status=reply.status.value if answer else None,
            command=command, trace=trace,
        ))

    # -- background upkeep ---------------------------------------------------------------

    def _schedule_summary(self, inbound: Inbound, bot: BotProfile) -> None:
        key = str(inbound.conversation)
        if key in self._summarizing:
            return
        self._summarizing.add(key)
        task = asyncio.create_task(self._summarize(inbound, bot))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _summarize(self, inbound: Inbound, bot: BotProfile) -> None:
        conv = inbound.conversation
        try:
            state = await self.store.conversation(conv)
            turns = await self.store.history(conv, state.summary_upto, HISTORY_FETCH)
            if len(turns) < 4:
                return
            older = turns[: len(turns) * 2 // 3]  # keep the newest third verbatim
            with background():  # a local model serves waiting people first
                result = await self.model.complete(
                    summary_prompt(state.summary, older), route_key=str(conv),
                    model=bot.model, max_tokens=400,
                )
            if result.text.strip():
                await self.store.set_summary(
                    conv, state.epoch, result.text.strip(), older[-1].seq,
                    summary_origin(state.summary_origin, older, inbound.is_group))
                log.info("summary_updated", conversation=str(conv), upto=older[-1].seq)
        except LLMError as err:
            log.warning("summary_failed", conversation=str(conv), error=str(err))
            metrics.LLM_ERRORS.labels(endpoint="summary", kind="failed").inc()
        finally:
            self._summarizing.discard(str(conv))

    def drop_background(self) -> None:
        """Stop summaries in progress (they run again later: nothing was advanced)."""
        for task in self._background:
            task.cancel()

    async def wait_background(self) -> None:
        while self._background:
            await asyncio.gather(*list(self._background), return_exceptions=True)
        await self.learner.idle()
