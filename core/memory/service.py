"""What the agent asks of memory: context before a turn, learning after it."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, tzinfo

from core import metrics
from core.events import ConversationKey, Inbound
from core.ids import PersonId
from core.llm import ChatModel, LLMError
from core.logging import get_logger
from core.memory.embedder import Embedder
from core.memory.extract import (
    RESPONSE_FORMAT,
    Batch,
    Commitment,
    ExtractedItem,
    Extraction,
    ExtractionError,
    extraction_prompt,
    parse,
    retry_prompt,
)
from core.memory.model import (
    LEARNED_KINDS,
    LEARNED_READ,
    PRIVATE,
    SHARED,
    Group,
    LearningWork,
    Memory,
    MemoryKind,
    MemoryScope,
    MemoryStore,
    NewMemory,
    Said,
    Source,
    Visibility,
)
from core.memory.recall import RecallQuery, memory_line, recall
from core.memory.rerank import Reranker
from core.memory.vector_fill import VectorFill
from core.settings import MemoryConfig

log = get_logger("kith.memory")
# who hears of the dated plans an extraction found (core/offers): same call, no other
CommitmentSink = Callable[[LearningWork, Sequence[Said], Sequence[Commitment]], Awaitable[None]]
# the person's own time zone, so "today" and "tomorrow" in what they said are their days
ZoneOf = Callable[[LearningWork], Awaitable[tzinfo]]


def visible(v: Visibility, memory: Memory) -> bool:
    """The same rule as the store's SQL filter, for memories already loaded."""
    if memory.scope in (PRIVATE, SHARED) and memory.person_id == v.owner:
        return True
    if v.group is not None and memory.scope == v.group:  # the same group
        return True
    return memory.scope == SHARED and memory.person_id in v.present


@dataclass(frozen=True, slots=True)
class MemorySettings:
    embed: bool = False  # embeddings through ChatModel.embed (KITH_LLM__EMBED_MODEL set)
    learn: bool = False  # extraction after turns (KITH_MEMORY__LEARN, on in the runtime)
    quiet_seconds: float = 60.0  # a conversation this long silent is extracted
    every_turns: int = 20  # ... or after this many answered turns, whichever comes first
    batch_messages: int = 40  # most of the person's messages one extraction call reads
    recall_k: int = 8
    recall_tokens: int = 400
    group_people: int = 20  # most recent speakers of a group whose shared memories count
    known_for_extraction: int = 12
    offers: bool = True  # offer reminders/events for the plans an extraction finds

    @classmethod
    def of(cls, config: MemoryConfig, *, embed: bool) -> MemorySettings:
        """What a user gets from ``KITH_MEMORY__*`` (learning on by default)."""
        return cls(embed=embed, learn=config.learn, recall_k=config.recall_k,
                   recall_tokens=config.recall_tokens, quiet_seconds=config.quiet_seconds,
                   every_turns=config.every_turns, offers=config.offers)


class MemoryService:
    def __init__(
        self, store: MemoryStore, model: ChatModel, clock: Callable[[], datetime],
        settings: MemorySettings | None = None, reranker: Reranker | None = None,
        embedder: Embedder | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.embedder: Embedder = embedder or model  # the server's embeddings by default
        self.clock = clock
        self.settings = settings or MemorySettings()
        self.reranker = reranker
        # memories stored without a vector (the remember tool, an edit, before embeddings
        # were on) get theirs in the background
        self.vectors = VectorFill(store, self.embedder, self.settings.embed)
        self.commitments: CommitmentSink | None = None  # set when offers are on
        self.zone_of: ZoneOf | None = None  # None: dates are read in UTC

    async def visibility(self, inbound: Inbound, person: PersonId) -> Visibility:
        return await self._visibility(inbound.conversation, inbound.is_group, person)

    async def _visibility(self, conv: ConversationKey, group: bool, person: PersonId) -> Visibility:
        if not group:
            return Visibility(owner=person)
        present = await self.store.people_in(conv, self.settings.group_people)
        if person not in present:
            present.append(person)
        return Visibility(group=Group(conv), present=tuple(present))

    async def _vector(self, text: str) -> list[float] | None:
        if not self.settings.embed or not text.strip():
            return None
        try:
            return (await self.embedder.embed([text]))[0]
        except (LLMError, IndexError) as err:
            log.warning("embed_failed", error=str(err))
            metrics.MEMORY_EMBED_FAILURES.inc()
            return None

    async def recall(self, inbound: Inbound, person: PersonId) -> list[Memory]:
        self.vectors.kick()
        visibility = await self.visibility(inbound, person)
        return await recall(self.store, RecallQuery(
            visibility, inbound.text, self.clock(), await self._vector(inbound.text),
            k=self.settings.recall_k, budget_tokens=self.settings.recall_tokens,
        ), self.reranker)

    async def context(self, inbound: Inbound, person: PersonId) -> list[str]:
        """Lines for the prompt's volatile part (empty when nothing is relevant)."""
        found = await self.recall(inbound, person)
        if not found:
            return []
        head = "What you remember (use only when relevant):"
        return [head, *(memory_line(m) for m in found)]

    async def learned(self, person: PersonId, latest: Sequence[Memory] | None = None
                      ) -> tuple[dict[str, str], list[str]]:
        """Learned preferences by /prefs key, and learned style notes (private context).
        ``latest``: the person's :data:`LEARNED_READ` newest memories of
        :data:`LEARNED_KINDS`, when already read (the Store's ``identify`` reads them with
        the person); else they are read here."""
        if latest is None:
            latest = await self.store.latest(person, LEARNED_READ, LEARNED_KINDS)
        now, prefs, style = self.clock(), dict[str, str](), list[str]()
        for memory in reversed(latest):
            if not memory.active(now) or isinstance(memory.scope, Group):
                continue
            if memory.kind is MemoryKind.PREFERENCE and memory.pref_key:
                prefs[memory.pref_key] = memory.text
            elif memory.kind is MemoryKind.STYLE:
                style.append(memory.text)
        return prefs, style[-5:]

    # -- learning --------------------------------------------------------------------------

    async def remember_now(self, inbound: Inbound, person: PersonId) -> Memory | None:
        """An explicit "remember that ..." is stored at once, without a model call."""
        fact = explicit_fact(inbound.text)
        if fact is None or not self.settings.learn or not await self.store.learning(person):
            return None
        conv = inbound.conversation
        scope = Group(conv) if inbound.is_group else PRIVATE
        memory = await self.store.add_memory(NewMemory(
            person_id=person, text=fact, kind=MemoryKind.FACT,
            source=Source(inbound.id, conv.channel, inbound.sender.platform_id,
                          inbound.received_at),
            confidence=1.0, scope=scope, vector=await self._vector(fact),
        ), self.clock())
        metrics.MEMORIES_WRITTEN.labels(decision="explicit").inc()
        log.info("memory_written", memory=memory.id, decision="explicit")
        return memory

    async def learn_batch(self, work: LearningWork, said: Sequence[Said], model: str | None,
                          ) -> int:
        """Extract memories from the person's messages in one call; returns how many were
        written. Raises :class:`LLMError` when the model cannot be reached (retried later)."""
        if not said or not self.settings.learn or not await self.store.learning(work.key.person_id):
            return 0
        known = await self._known(work, said)
        now = self.clock()
        if self.zone_of is not None:
            now = now.astimezone(await self.zone_of(work))
        batch = Batch(work.display_name, tuple(said), now, work.is_group)
        extraction = await self._extract(batch, known, str(work.key.conversation), model)
        if extraction is None:
            return 0
        written = 0
        by_id = {m.id: m for m in known}
        for item in extraction.memories:
            n = item.message if item.message and 1 <= item.message <= len(said) else len(said)
            if await self._apply(item, work, said[n - 1], by_id):
                written += 1
        if self.commitments is not None and extraction.commitments:
            try:
                await self.commitments(work, said, extraction.commitments)
            except Exception as err:  # an offer that fails must not undo what was learned
                log.exception("offers_failed", error=str(err))
        return written

    async def _known(self, work: LearningWork, said: Sequence[Said]) -> list[Memory]:
        """The person's memories the model may update: relevant ones, then the latest."""
        person, now = work.key.person_id, self.clock()
        visibility = await self._visibility(work.key.conversation, work.is_group, person)
        query = " ".join(m.text for m in said)[-2000:]
        found = [m for m in await recall(self.store, RecallQuery(
            visibility, query, now, await self._vector(query), k=self.settings.recall_k,
            budget_tokens=self.settings.recall_tokens,
        )) if m.person_id == person]
        limit = self.settings.known_for_extraction
        for memory in await self.store.latest(person, limit * 2):
            if memory.active(now) and visible(visibility, memory) and memory not in found:
                found.append(memory)
        return found[:limit]

    async def _extract(
        self, batch: Batch, known: list[Memory], route_key: str, model: str | None
    ) -> Extraction | None:
        messages = extraction_prompt(batch, known)
        for attempt in (1, 2):
            try:
                result = await self.model.complete(  # Kith's own work: people go first
                    messages, route_key=route_key, model=model, max_tokens=1600,
                    response_format=RESPONSE_FORMAT, background=True,
                )
            except LLMError as err:
                metrics.MEMORY_EXTRACT_FAILURES.labels(reason="llm").inc()
                log.warning("memory_extract_failed", reason="llm", error=str(err))
                raise
            try:
                return parse(result.text)
            except ExtractionError as err:
                metrics.MEMORY_EXTRACT_FAILURES.labels(reason=err.reason).inc()
                log.warning("memory_extract_invalid", reason=err.reason, attempt=attempt,
                            error=str(err)[:200])
                messages = retry_prompt(messages, result.text, err)
        return None

    async def _apply(
        self, item: ExtractedItem, work: LearningWork, said: Said, known: dict[str, Memory]
    ) -> bool:
        now = self.clock()
        if item.decision == "noise" or (item.expires_at is not None and item.expires_at <= now):
            return False
        replaces = item.target if item.decision in ("update", "contradict") else None
        if replaces is not None and replaces not in known:
            replaces = None  # only memories shown to the model, of this person, may be replaced
        if replaces is None and any(m.text.lower() == item.text.lower() for m in known.values()):
            return False  # already known
        scope: MemoryScope = SHARED if item.scope == "shared" else PRIVATE
        if work.is_group and scope == PRIVATE:
            scope = Group(work.key.conversation)
        memory = await self.store.add_memory(NewMemory(
            person_id=work.key.person_id, text=item.text, kind=MemoryKind(item.kind),
            source=Source(said.inbound_id, work.channel, work.sender, said.at),
            confidence=item.confidence, scope=scope, expires_at=item.expires_at,
            pref_key=item.pref_key if item.kind == "preference" else None,
            replaces=replaces, vector=await self._vector(item.text),
        ), now)
        metrics.MEMORIES_WRITTEN.labels(decision=item.decision).inc()
        log.info("memory_written", memory=memory.id, decision=item.decision, replaces=replaces)
        return True


_EXPLICIT = re.compile(
    r"^\s*(?:please\s+|kith,?\s+)?(?:remember|don'?t\s+forget|note)(?:\s+that\b|\s*:)\s*"
    r"(?P<fact>[^?]{3,300}?)[\s.!]*$", re.IGNORECASE | re.DOTALL,
)


def explicit_fact(text: str) -> str | None:
    """The fact in "remember that my flight is on Friday" (None for anything else)."""
    found = _EXPLICIT.match(text)
    if found is None:
        return None
    fact = " ".join(found.group("fact").split())
    return f"Asked to remember: {fact}" if fact else None
