"""Memory values and the MemoryStore contract (every Store backend provides one).

A memory belongs to one person and carries where it came from (message, channel, sender,
time), a confidence, a scope (``core.memory.scope``: private by default, shared, or one group)
— an optional expiry, and ``superseded_by`` when a newer memory replaced it (history kept).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from core.ids import ConversationKey, InboundId, PersonId
from core.memory.forgetting import Pending
from core.memory.neighbours import Adjacent
from core.memory.scope import PRIVATE as PRIVATE
from core.memory.scope import SHARED as SHARED
from core.memory.scope import Group as Group
from core.memory.scope import MemoryScope as MemoryScope
from core.memory.scope import Personal as Personal


class MemoryKind(StrEnum):
    FACT = "fact"
    PREFERENCE = "preference"  # may carry a pref_key (learned /prefs value)
    STYLE = "style"  # how they like to be answered


@dataclass(frozen=True, slots=True)
class Source:
    inbound_id: InboundId
    channel: str
    sender: str  # platform id of the identity that said it
    at: datetime


@dataclass(frozen=True, slots=True)
class Memory:
    id: str
    person_id: PersonId
    text: str
    kind: MemoryKind
    source: Source
    confidence: float
    scope: MemoryScope = PRIVATE
    expires_at: datetime | None = None
    superseded_by: str | None = None
    pref_key: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None

    def active(self, now: datetime) -> bool:
        return self.superseded_by is None and (self.expires_at is None or self.expires_at > now)


@dataclass(frozen=True, slots=True)
class NewMemory:
    """What extraction asks the store to write; ``replaces`` retires an older memory."""

    person_id: PersonId
    text: str
    kind: MemoryKind
    source: Source
    confidence: float
    scope: MemoryScope = PRIVATE
    expires_at: datetime | None = None
    pref_key: str | None = None
    replaces: str | None = None
    vector: Sequence[float] | None = None


@dataclass(frozen=True, slots=True)
class Visibility:
    """Which memories a prompt may see.

    A direct chat: ``owner``'s private and shared memories. A group: the group's scoped
    memories plus the ``shared`` memories of the people present — never a private one.
    """

    owner: str | None = None
    group: Group | None = None  # the group whose scoped memories are visible
    present: tuple[str, ...] = ()  # people whose *shared* memories are visible


@dataclass(frozen=True, slots=True)
class Identity:
    channel: str
    platform_id: str
    display_name: str


class LinkRefusal(StrEnum):
    UNKNOWN = "unknown"  # wrong code
    EXPIRED = "expired"
    USED = "used"
    SAME_PERSON = "same_person"
    CONFLICT = "conflict"  # the other person already has an identity on that channel


@dataclass(frozen=True, slots=True)
class LinkResult:
    person_id: PersonId | None  # the merged person, None when refused
    refusal: LinkRefusal | None = None
    merged: tuple[Identity, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class LearningKey:
    """Extraction is batched per conversation and person (a group has several)."""

    conversation: ConversationKey
    person_id: PersonId


@dataclass(frozen=True, slots=True)
class LearningWork:
    """A conversation's extraction cursor: turns after ``upto_seq`` are not learned yet."""

    key: LearningKey
    channel: str
    sender: str  # platform id of the person's identity in that conversation
    display_name: str
    is_group: bool
    upto_seq: int
    pending: int  # answered turns noted since the cursor
    failures: int = 0


@dataclass(frozen=True, slots=True)
class Said:
    """One message the person wrote themselves, as stored in the conversation."""

    seq: int
    inbound_id: InboundId
    text: str
    at: datetime


class LearningQueue(Protocol):
    """Durable extraction work: survives restarts; one worker holds a key at a time."""

    async def note(self, work: LearningWork, inbound_id: InboundId, now: float) -> int: ...
    async def waiting(self) -> list[LearningWork]: ...
    async def claim(self, key: LearningKey, now: float, lease: float) -> LearningWork | None: ...
    async def said_since(self, key: LearningKey, after_seq: int, limit: int) -> list[Said]: ...
    async def advance(self, key: LearningKey, upto_seq: int, noted: int) -> None: ...
    async def release(self, key: LearningKey, failed: bool) -> int: ...


class MemoryReader(Protocol):
    """Reading what is remembered about a person (the "what Kith knows about me" page, the
    export): the read-only role of :class:`MemoryStore`."""

    async def memories(
        self, person_id: PersonId, *, history: bool = False, kinds: Sequence[str] = ()
    ) -> list[Memory]: ...
    async def source_texts(self, inbound_ids: Sequence[str]) -> dict[str, str]: ...
    async def identities(self, person_id: PersonId) -> list[Identity]: ...
    async def learning(self, person_id: PersonId) -> bool: ...
    async def export(self, person_id: PersonId) -> dict[str, Any]: ...


class MemoryStore(Protocol):
    # memories
    async def add_memory(self, new: NewMemory, now: datetime) -> Memory: ...
    async def memory(self, memory_id: str) -> Memory | None: ...
    async def memories(
        self, person_id: PersonId, *, history: bool = False, kinds: Sequence[str] = ()
    ) -> list[Memory]: ...
    async def memories_by_id(self, ids: Sequence[str]) -> list[Memory]: ...
    async def latest(
        self, person_id: PersonId, limit: int, kinds: Sequence[str] = ()
    ) -> list[Memory]: ...
    async def search_text(
        self, visibility: Visibility, query: str, now: datetime, limit: int
    ) -> list[str]: ...
    async def search_vectors(
        self, visibility: Visibility, vector: Sequence[float], now: datetime, limit: int
    ) -> list[str]: ...
    async def search_current(
        self, visibility: Visibility, now: datetime, limit: int
    ) -> list[str]: ...
    async def adjacent(
        self, visibility: Visibility, ids: Sequence[str], now: datetime
    ) -> dict[str, Adjacent]:
        """Each memory's visible conversation neighbours (``core.memory.neighbours``)."""
        ...
    async def set_vector(self, memory_id: str, vector: Sequence[float]) -> None: ...
    async def unembedded(self, limit: int) -> list[tuple[str, str]]:
        """(id, text) of memories waiting for their vector, oldest first."""
        ...
    async def update_memory(
        self, person_id: PersonId, memory_id: str, now: datetime, *, text: str | None = None,
        scope: Personal | None = None,
    ) -> Memory | None: ...
    async def source_texts(self, inbound_ids: Sequence[str]) -> dict[str, str]: ...
    # words: also every message, reply and summary of the person's holding them
    async def delete_memories(self, person_id: PersonId, ids: Sequence[str],
                              words: str = "") -> int: ...
    async def delete_all(self, person_id: PersonId) -> int: ...
    async def people_in(self, conversation: ConversationKey, limit: int) -> list[str]: ...
    @property
    def queue(self) -> LearningQueue: ...
    # learning switch and pending /forget confirmation
    async def learning(self, person_id: PersonId) -> bool: ...
    async def set_learning(self, person_id: PersonId, on: bool) -> None: ...
    async def set_pending_forget(self, person_id: PersonId, ids: Sequence[str],
                                 text: str = "") -> None: ...
    async def take_pending_forget(self, person_id: PersonId) -> Pending: ...
    # identities and linking
    async def identities(self, person_id: PersonId) -> list[Identity]: ...
    async def create_link_code(self, person_id: PersonId, now: datetime,
                               ttl_seconds: int) -> str: ...
    async def redeem_link_code(self, code: str, person_id: PersonId,
                               now: datetime) -> LinkResult: ...
    async def unlink(self, person_id: PersonId, channel: str,
                     platform_id: str) -> PersonId | None: ...
    async def export(self, person_id: PersonId) -> dict[str, Any]: ...
