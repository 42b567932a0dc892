"""The reply relay across replicas: LISTEN/NOTIFY on one channel.

Every replica LISTENs on ``kith_reply`` over a dedicated connection and hands what arrives
to its own subscribers (by message id); everything else is dropped. A piece for a message
whose subscriber is in this very process never touches the database. Payloads are small
JSON objects (pieces are at most :data:`core.relay.MAX_CHARS` characters, so a payload stays
well below NOTIFY's 8000-byte limit). A publisher awaits each NOTIFY before the next, so
they commit, and arrive, in order; ``seq`` lets the subscriber check that.

If the listening connection drops, every open subscription is marked ``gap`` (pieces may
have been missed; the subscriber turns to the stored reply) and the relay reconnects.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import psycopg
from psycopg_pool import AsyncConnectionPool

from core.ids import InboundId
from core.logging import get_logger
from core.relay import Piece, Subscribers, Subscription

log = get_logger("kith.relay")
CHANNEL = "kith_reply"
MAX_PAYLOAD = 7900


def encode(inbound_id: InboundId, piece: Piece) -> str:
    payload = json.dumps({"i": inbound_id, "a": piece.attempt, "s": piece.seq,
                          "t": piece.text, "e": piece.end}, separators=(",", ":"),
                         ensure_ascii=False)
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError("relay payload too long")  # pieces are chunked before this
    return payload


def decode(payload: str) -> tuple[InboundId, Piece] | None:
    try:
        d = json.loads(payload)
        return InboundId(str(d["i"])), Piece(str(d["a"]), int(d["s"]), str(d["t"]), bool(d["e"]))
    except (ValueError, KeyError, TypeError):
        return None


class PostgresRelay:
    """:class:`core.relay.ReplyRelay` for replicas sharing one database."""

    def __init__(self, url: str, pool: AsyncConnectionPool, *, reconnect: float = 0.5) -> None:
        self._url = url
        self._pool = pool
        self.reconnect = reconnect
        self.subscribers = Subscribers()
        self._task: asyncio.Task[None] | None = None
        self._listening = asyncio.Event()

    async def open(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="relay:listen")
        await asyncio.wait_for(self._listening.wait(), 30)

    async def close(self) -> None:
        self.subscribers.close()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    @contextlib.asynccontextmanager
    async def subscribe(self, inbound_id: InboundId) -> AsyncIterator[Subscription]:
        async with self.subscribers.subscribe(inbound_id) as sub:
            sub.gap = not self._listening.is_set()  # not listening: pieces would be missed
            yield sub

    async def publish(self, inbound_id: InboundId, piece: Piece) -> None:
        if self.subscribers.hand(inbound_id, piece):
            return  # the request is in this process
        try:
            async with self._pool.connection() as conn:
                await conn.execute("SELECT pg_notify(%s, %s)",
                                   (CHANNEL, encode(inbound_id, piece)))
        except (psycopg.Error, OSError, ValueError) as err:
            log.warning("relay_publish_failed", error=type(err).__name__)

    async def _listen(self) -> None:
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                        self._url, autocommit=True) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self._listening.set()
                    async for note in conn.notifies():
                        if (got := decode(note.payload)) is not None:
                            self.subscribers.hand(*got)
            except (psycopg.Error, OSError) as err:
                log.warning("relay_listen_lost", error=type(err).__name__)
            self._listening.clear()
            for sub in list(self.subscribers.by_id.values()):
                sub.gap = True  # what was sent while we were away is lost to them
            await asyncio.sleep(self.reconnect)

    @property
    def listening(self) -> bool:
        return self._listening.is_set()
