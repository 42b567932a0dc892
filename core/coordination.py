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
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Protocol


class TurnLeases(Protocol):
    """Which process runs a conversation's turns right now.

    ``acquire`` is true when this process holds (or now took) the conversation; a lease
    whose holder died is free again. ``announce`` tells the holder that another process
    accepted a message for it; ``on_work`` registers what this process does when told.
    ``orphaned`` lists conversations with open messages that no live process holds.
    """

    @property
    def replicated(self) -> bool: ...
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def acquire(self, conversation: str) -> bool: ...
    async def release(self, conversation: str) -> None: ...
    async def announce(self, conversation: str) -> None: ...
    async def orphaned(self, limit: int) -> list[str]: ...
    def on_work(self, callback: Callable[[str], None]) -> None: ...
    async def replicas(self) -> int: ...  # live processes sharing the work (>= 1)


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

    async def acquire(self, conversation: str) -> bool:
        return True

    async def release(self, conversation: str) -> None:
        return None

    async def announce(self, conversation: str) -> None:
        return None

    async def orphaned(self, limit: int) -> list[str]:
        return []

    def on_work(self, callback: Callable[[str], None]) -> None:
        return None

    async def replicas(self) -> int:
        return 1


class LocalLeadership:
    """One process: it is always the leader."""

    @contextlib.asynccontextmanager
    async def lead(self, name: str) -> AsyncIterator[Lead]:
        yield Lead(name)
