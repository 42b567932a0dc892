"""How processes share work: who runs a conversation's turns, who consumes a channel.

One process on SQLite owns everything, so the local implementations grant every lease and
every leadership at once. On PostgreSQL (``core/store/postgres``) several replicas share one
database: a conversation's turns run in exactly one replica at a time (a lease), and a
single-consumer channel (Telegram polling, Matrix sync, IMAP) is consumed by one elected
leader per bot and channel.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol, runtime_checkable

from core.events import ConversationKey, Inbound


class LeaseLost(Exception):
    """This process no longer holds the conversation: another replica took the lease (this
    one's presence was gone, or the lease expired unrenewed). The turn's writes were not
    made (its commit is fenced) and its reply is not delivered from here; the holder
    answers the message."""


class TurnLeases(Protocol):
    """Which process runs a conversation's turns right now.

    ``acquire`` is true when this process holds (or now took) the conversation; a lease
    whose holder died is free again. A holder looks at the inbox once more after it
    releases, so a message recorded while it held the lease is never left behind.
    ``orphaned`` lists conversations with open messages that no live process holds;
    ``holding`` counts the leases this process holds, ``active`` those every live process
    holds (so replicas can share the open conversations fairly). ``token`` is the fencing
    token of this process's leases, ``None`` when nothing is shared: a turn run under the
    lease passes it to ``finish_turn(record, fence=...)``, which commits only while the
    lease still names this process.
    """

    @property
    def replicated(self) -> bool: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def acquire(self, conversation: ConversationKey) -> bool: ...
    async def release(self, conversation: ConversationKey) -> None: ...
    async def orphaned(self, limit: int) -> list[ConversationKey]: ...
    async def replicas(self) -> int: ...  # live processes sharing the work (>= 1)
    def holding(self) -> int: ...
    async def active(self) -> int: ...
    def token(self) -> int | None: ...


@runtime_checkable
class SharedTurns(TurnLeases, Protocol):
    """Leases among replicas that read the conversation's open messages with the lease
    statement itself (one round trip where a lease and an inbox read made two).

    ``take``: ``acquire``, and when held, the open messages (None: another process holds
    it). ``let_go``: ``release``, then the open messages, read after the release: a
    message recorded while the lease was held is in it, or its recorder took the lease.
    """

    async def take(self, conversation: ConversationKey) -> list[Inbound] | None: ...
    async def let_go(self, conversation: ConversationKey) -> list[Inbound]: ...


@dataclass(slots=True)
class Lead:
    """Held leadership. ``lost`` is set when it ends without being released (the database
    connection that held it went away): stop consuming at once."""

    name: str
    lost: asyncio.Event = field(default_factory=asyncio.Event)


class Leadership(Protocol):
    """``async with leadership.lead("telegram/mybot") as lead:`` waits until this process is
    the one consumer of that name, and gives it up on exit."""

    def lead(self, name: str) -> AbstractAsyncContextManager[Lead]: ...


class LocalLeases:
    """One process: every conversation is always this process's."""

    replicated = False

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        return None

    async def acquire(self, conversation: ConversationKey) -> bool:
        return True

    async def release(self, conversation: ConversationKey) -> None:
        return None

    async def orphaned(self, limit: int) -> list[ConversationKey]:
        return []

    async def replicas(self) -> int:
        return 1

    def holding(self) -> int:
        return 0  # nothing to share

    async def active(self) -> int:
        return 0

    def token(self) -> int | None:
        return None  # nothing to fence: no other process runs turns


class LocalLeadership:
    """One process: it is always the leader."""

    @contextlib.asynccontextmanager
    async def lead(self, name: str) -> AsyncIterator[Lead]:
        yield Lead(name)
