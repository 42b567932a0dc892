"""What the agent asks of memory: context before a turn, learning after it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from core import metrics
from core.events import Inbound
from core.llm import ChatModel, LLMError
from core.logging import get_logger
from core.memory.extract import (
    RESPONSE_FORMAT,
    Exchange,
    ExtractedItem,
    Extraction,
    ExtractionError,
    extraction_prompt,
    parse,
    retry_prompt,
)
from core.memory.model import (
    GROUP_PREFIX,
    PRIVATE,
    SHARED,
    Memory,
    MemoryKind,
    MemoryStore,
    NewMemory,
    Source,
    Visibility,
    group_scope,
)
from core.memory.recall import RecallQuery, memory_line, recall

log = get_logger("kith.memory")
OMITTED = "(not shown: this reply was written from content the person did not write)"


def visible(v: Visibility, memory: Memory) -> bool:
    """The same rule as the store's SQL filter, for memories already loaded."""
    if memory.scope in (PRIVATE, SHARED) and memory.person_id == v.owner:
        return True
    if v.group is not None and memory.scope == v.group:
        return True
    return memory.scope == SHARED and memory.person_id in v.present


@dataclass(frozen=True, slots=True)
class MemorySettings:
    embed: bool = False  # embeddings through ChatModel.embed (KITH_LLM__EMBED_MODEL set)
    learn: bool = False  # extraction after turns (KITH_MEMORY__LEARN, on in the runtime)
    recall_k: int = 8
    recall_tokens: int = 400
    group_people: int = 20  # most recent speakers of a group whose shared memories count
    known_for_extraction: int = 12


class MemoryService:
    def __init__(
        self, store: MemoryStore, model: ChatModel, clock: Callable[[], datetime],
        settings: MemorySettings | None = None,
    ) -> None:
        self.store = store
        self.model = model
        self.clock = clock
        self.settings = settings or MemorySettings()

    async def visibility(self, inbound: Inbound, person: str) -> Visibility:
        if not inbound.is_group:
            return Visibility(owner=person)
        conv = str(inbound.conversation)
        present = await self.store.people_in(conv, self.settings.group_people)
        if person not in present:
            present.append(person)
        return Visibility(group=group_scope(conv), present=tuple(present))

    async def _vector(self, text: str) -> list[float] | None:
        if not self.settings.embed or not text.strip():
            return None
        try:
            return (await self.model.embed([text]))[0]
        except (LLMError, IndexError) as err:
            log.warning("embed_failed", error=str(err))
            metrics.MEMORY_EMBED_FAILURES.inc()
            return None

    async def recall(self, inbound: Inbound, person: str) -> list[Memory]:
        visibility = await self.visibility(inbound, person)
        return await recall(self.store, RecallQuery(
            visibility, inbound.text, self.clock(), await self._vector(inbound.text),
            k=self.settings.recall_k, budget_tokens=self.settings.recall_tokens,
        ))

    async def context(self, inbound: Inbound, person: str) -> list[str]:
        """Lines for the prompt's volatile part (empty when nothing is relevant)."""
        found = await self.recall(inbound, person)
        if not found:
            return []
        head = "What you remember (use only when relevant):"
        return [head, *(memory_line(m) for m in found)]

    async def learned(self, person: str) -> tuple[dict[str, str], list[str]]:
        """Learned preferences by /prefs key, and learned style notes (private context)."""
        now, prefs, style = self.clock(), dict[str, str](), list[str]()
        kinds = (MemoryKind.PREFERENCE.value, MemoryKind.STYLE.value)
        for memory in await self.store.memories(person, kinds=kinds):
            if not memory.active(now) or memory.scope.startswith(GROUP_PREFIX):
                continue
            if memory.kind is MemoryKind.PREFERENCE and memory.pref_key:
                prefs[memory.pref_key] = memory.text
            elif memory.kind is MemoryKind.STYLE:
                style.append(memory.text)
        return prefs, style[-5:]

    # -- learning --------------------------------------------------------------------------

    async def learn(self, inbound: Inbound, person: str, reply: str, model: str | None) -> int:
        """Extract memories from a finished turn and store them; returns how many."""
        if not self.settings.learn or not await self.store.learning(person):
            return 0
        if inbound.quoted:  # learn from their own words only, never from what they shared
            if not inbound.text.strip():
                return 0
            reply = OMITTED  # written from the quoted words: nothing is learned from it either
        known = await self._known(inbound, person)
        exchange = Exchange(inbound.sender.display_name, inbound.text, reply, self.clock(),
                            inbound.is_group)
        extraction = await self._extract(exchange, known, str(inbound.conversation), model)
        if extraction is None:
            return 0
        written = 0
        for item in extraction.memories:
            if await self._apply(item, inbound, person, {m.id: m for m in known}):
                written += 1
        return written

    async def _known(self, inbound: Inbound, person: str) -> list[Memory]:
        """The person's memories the model may update: relevant ones, then the latest."""
        visibility, now = await self.visibility(inbound, person), self.clock()
        found = [m for m in await self.recall(inbound, person) if m.person_id == person]
        latest = [m for m in await self.store.memories(person)
                  if m.active(now) and visible(visibility, m)]
        for memory in reversed(latest):
            if memory not in found:
                found.append(memory)
        return found[: self.settings.known_for_extraction]

    async def _extract(
        self, exchange: Exchange, known: list[Memory], route_key: str, model: str | None
    ) -> Extraction | None:
        messages = extraction_prompt(exchange, known)
        for attempt in (1, 2):
            try:
                result = await self.model.complete(
                    messages, route_key=route_key, model=model, max_tokens=600,
                    response_format=RESPONSE_FORMAT,
                )
            except LLMError as err:
                metrics.MEMORY_EXTRACT_FAILURES.labels(reason="llm").inc()
                log.warning("memory_extract_failed", reason="llm", error=str(err))
                return None
            try:
                return parse(result.text)
            except ExtractionError as err:
                metrics.MEMORY_EXTRACT_FAILURES.labels(reason=err.reason).inc()
                log.warning("memory_extract_invalid", reason=err.reason, attempt=attempt,
                            error=str(err)[:200])
                messages = retry_prompt(messages, result.text, err)
        return None

    async def _apply(
        self, item: ExtractedItem, inbound: Inbound, person: str, known: dict[str, Memory]
    ) -> bool:
        now = self.clock()
        if item.decision == "noise" or (item.expires_at is not None and item.expires_at <= now):
            return False
        replaces = item.target if item.decision in ("update", "contradict") else None
        if replaces is not None and replaces not in known:
            replaces = None  # only memories shown to the model, of this person, may be replaced
        if replaces is None and any(m.text.lower() == item.text.lower() for m in known.values()):
            return False  # already known
        scope = SHARED if item.scope == "shared" else PRIVATE
        if inbound.is_group and scope == PRIVATE:
            scope = group_scope(str(inbound.conversation))
        conv = inbound.conversation
        memory = await self.store.add_memory(NewMemory(
            person_id=person, text=item.text, kind=MemoryKind(item.kind),
            source=Source(inbound.id, conv.channel, inbound.sender.platform_id,
                          inbound.received_at),
            confidence=item.confidence, scope=scope, expires_at=item.expires_at,
            pref_key=item.pref_key if item.kind == "preference" else None,
            replaces=replaces, vector=await self._vector(item.text),
        ), now)
        metrics.MEMORIES_WRITTEN.labels(decision=item.decision).inc()
        log.info("memory_written", memory=memory.id, decision=item.decision, replaces=replaces)
        return True
