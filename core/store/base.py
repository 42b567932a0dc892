"""The Store contract. Every backend passes ``tests/contract``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.events import ConversationKey, Inbound, Quoted, Sender
from core.memory.model import MemoryStore


class InboxStatus(StrEnum):
    PENDING = "pending"  # recorded, not answered yet (resumed after a restart)
    DONE = "done"
    FAILED = "failed"  # the model could not answer; kept, and the person was told


@dataclass(frozen=True, slots=True)
class Turn:
    seq: int
    role: str  # "user" or "assistant"
    author: str  # display name of the sender, "" for the assistant
    text: str  # user turns: only the person's own words
    tokens: int
    created_at: datetime
    quoted: tuple[Quoted, ...] = ()  # user turns: words they forwarded or quoted, kept apart
    read_quoted: bool = False  # both turns of an exchange that read quoted content: the
    # reply was written from third-party words, so nothing is learned from either


@dataclass(frozen=True, slots=True)
class ConversationState:
    epoch: int = 0
    summary: str = ""
    summary_upto: int = 0  # turns with seq <= this are covered by the summary


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """What one finished turn writes, atomically with the inbox status."""

    inbound: Inbound
    person_id: str
    user_text: str | None  # None: do not record the message (e.g. a command)
    reply_text: str | None
    status: InboxStatus
    user_tokens: int = 0
    reply_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Pairing:
    channel: str
    platform_id: str
    display_name: str
    code: str
    approved: bool
    new: bool = False  # the code was created by this call


class Store(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def healthy(self) -> bool: ...

    # inbox: durable before acknowledgement, dedupe by id, resume after restart
    async def record_inbound(self, inbound: Inbound) -> bool: ...
    async def pending(self) -> list[Inbound]: ...
    async def inbox_status(self, inbound_id: str) -> InboxStatus | None: ...

    # people and preferences
    async def person_for(self, channel: str, sender: Sender) -> str: ...
    async def preferences(self, person_id: str) -> dict[str, str]: ...
    async def set_preference(self, person_id: str, key: str, value: str | None) -> None: ...

    # pairing: unknown senders get a code the owner approves with /approve CODE
    async def pairing(self, bot: str, channel: str, sender: Sender) -> Pairing: ...
    async def approve(self, bot: str, code: str) -> Pairing | None: ...

    # conversations
    async def conversation(self, key: ConversationKey) -> ConversationState: ...
    async def turn_count(self, key: ConversationKey) -> int: ...
    async def history(self, key: ConversationKey, after_seq: int, limit: int) -> list[Turn]: ...
    async def finish_turn(self, record: TurnRecord) -> None: ...
    async def set_summary(
        self, key: ConversationKey, epoch: int, summary: str, upto_seq: int
    ) -> None: ...
    async def reset(self, key: ConversationKey) -> None: ...
    async def forget(self, key: ConversationKey) -> int: ...

    # long-term memories, identities and linking (core/memory), on the same database
    @property
    def memories(self) -> MemoryStore: ...
