"""A reply's stream, carried from the process that runs the turn to the one that holds the
request (the web chat's ``POST /send``).

The channel that delivers a reply publishes it piece by piece (:class:`ReplyStream`); the
request handler subscribed to the message's id before submitting it. One process: an
in-process hand-off (:class:`LocalRelay`). Replicas on PostgreSQL: LISTEN/NOTIFY
(``core/store/postgres/relay.py``). The relay is best effort: a piece may be lost when a
connection drops (the subscription is then marked ``gap``); the stored reply in the inbox
stays the source of truth for whoever picks the reply up late.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass
from typing import Protocol

from core.ids import InboundId

COALESCE = 0.05  # seconds: at most about 20 pieces a second per reply
MAX_CHARS = 1000  # per piece: a JSON-escaped piece stays far below NOTIFY's 8000 bytes


@dataclass(frozen=True, slots=True)
class Piece:
    """Part ``seq`` of one delivery attempt of a reply; ``end`` closes the attempt."""

    attempt: str
    seq: int
    text: str = ""
    end: bool = False


class Subscription:
    """What arrives for one message id, in arrival order."""

    __slots__ = ("closed", "gap", "inbound_id", "queue")

    def __init__(self, inbound_id: InboundId) -> None:
        self.inbound_id = inbound_id
        self.queue: asyncio.Queue[Piece] = asyncio.Queue()
        self.gap = False  # pieces may have been lost: ask the store
        self.closed = False  # the relay is shutting down

    async def next(self, within: float) -> Piece | None:
        """The next piece, or None after ``within`` seconds without one."""
        try:
            return await asyncio.wait_for(self.queue.get(), within)
        except TimeoutError:
            return None


class ReplyRelay(Protocol):
    def subscribe(self, inbound_id: InboundId) -> AbstractAsyncContextManager[Subscription]: ...

    async def publish(self, inbound_id: InboundId, piece: Piece) -> None:
        """Hand a piece to the subscriber of ``inbound_id``, wherever it is; never raises."""
        ...


def chunks(text: str, size: int = MAX_CHARS) -> list[str]:
    """``text`` in parts of at most ``size`` characters (one empty part for '')."""
    return [text[i:i + size] for i in range(0, len(text), size)] or [""]


class ReplyStream:
    """The publishing side of one delivery attempt: ``await send(delta)`` then ``end()``.

    Deltas are coalesced: a piece goes out at once when ``every`` seconds have passed since
    the last one, else it waits for the next delta (or the end). Across replicas each piece
    is a NOTIFY, so a reply costs about one per ``every`` rather than one per token."""

    def __init__(self, relay: ReplyRelay, inbound_id: InboundId, every: float = COALESCE) -> None:
        self.relay, self.inbound_id = relay, inbound_id
        self.attempt = uuid.uuid4().hex[:12]
        self.seq = 0
        self.every = every
        self._buffer: list[str] = []
        self._last = float("-inf")  # when the last piece went out (monotonic)

    async def send(self, text: str) -> None:
        if not text:
            return
        self._buffer.append(text)
        if time.monotonic() - self._last >= self.every:
            await self._flush()

    async def _flush(self) -> None:
        text = "".join(self._buffer)
        self._buffer.clear()
        self._last = time.monotonic()
        for part in chunks(text):
            await self.relay.publish(self.inbound_id, Piece(self.attempt, self.seq, part))
            self.seq += 1

    async def end(self) -> None:
        if self._buffer:
            await self._flush()
        await self.relay.publish(self.inbound_id, Piece(self.attempt, self.seq, end=True))
        self.seq += 1


class AlreadySubscribed(Exception):
    """Someone in this process already waits for that message's reply."""


class Subscribers:
    """The subscriptions of this process, by message id (shared by the relays).

    An attempt's end piece also ends the subscription here (its pieces stay queued for the
    reader), so a request that never started reading leaks nothing once its reply ended.
    """

    def __init__(self) -> None:
        self.by_id: dict[str, Subscription] = {}

    @contextlib.asynccontextmanager
    async def subscribe(self, inbound_id: InboundId) -> AsyncIterator[Subscription]:
        if inbound_id in self.by_id:
            raise AlreadySubscribed(inbound_id)
        sub = Subscription(inbound_id)
        self.by_id[inbound_id] = sub
        try:
            yield sub
        finally:
            if self.by_id.get(inbound_id) is sub:
                del self.by_id[inbound_id]

    def hand(self, inbound_id: InboundId, piece: Piece) -> bool:
        sub = self.by_id.get(inbound_id)
        if sub is None:
            return False
        sub.queue.put_nowait(piece)
        if piece.end:
            del self.by_id[inbound_id]
        return True

    def close(self) -> None:
        """Wake every subscriber: the process is stopping."""
        for sub in self.by_id.values():
            sub.closed = True
            sub.queue.put_nowait(Piece("", -1, end=True))


class LocalRelay:
    """One process: the request and the turn live in the same process."""

    def __init__(self) -> None:
        self.subscribers = Subscribers()

    def subscribe(self, inbound_id: InboundId) -> AbstractAsyncContextManager[Subscription]:
        return self.subscribers.subscribe(inbound_id)

    async def publish(self, inbound_id: InboundId, piece: Piece) -> None:
        self.subscribers.hand(inbound_id, piece)

    async def open(self) -> None:
        return None

    async def close(self) -> None:
        self.subscribers.close()
