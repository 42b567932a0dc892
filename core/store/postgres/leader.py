"""Leader election on PostgreSQL: one consumer per single-consumer channel across replicas.

``lead(name)`` opens a dedicated connection and tries a *session* advisory lock on a stable
64-bit key derived from the name every ``takeover`` seconds until it is granted. While held,
the connection is watched: it waits for the socket (a terminated backend or a closed
connection wakes it at once) and runs ``SELECT 1`` every ``check_every`` seconds with a
timeout; TCP keepalives and a user timeout are set on both ends. The moment the connection
fails, :attr:`Lead.lost` is set. Leaving the context unlocks and closes the connection.

A killed leader's connection closes with its process, PostgreSQL frees its session locks at
once, and a waiting replica holds the lock within ``takeover`` seconds. A leader whose
machine vanishes (no FIN) is freed when the server's keepalives give up on it (about
``5 + 2 * 3`` seconds with the session settings below); the leader itself, if alive but cut
off, sees ``lost`` within ``check_every + timeout`` seconds, before the server frees its lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator

import psycopg
from psycopg.conninfo import make_conninfo

from core.coordination import Lead
from core.logging import get_logger

log = get_logger("kith.leader")
# libpq (client side): notice a dead server within ~10 s even while idle
_CLIENT: dict[str, str | int] = {"keepalives": 1, "keepalives_idle": 5, "keepalives_interval": 2,
           "keepalives_count": 3, "tcp_user_timeout": 10_000, "connect_timeout": 10,
           "application_name": "kith-leader"}
# server side, for this session: free the lock of a vanished client within ~11 s
_SESSION = ("SET tcp_keepalives_idle = 5; SET tcp_keepalives_interval = 2; "
            "SET tcp_keepalives_count = 3; SET tcp_user_timeout = 10000")


def leader_key(name: str) -> int:
    """The advisory lock key of a leadership name: stable across processes and versions."""
    digest = hashlib.sha256(b"kith-leader:" + name.encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


class PostgresLeadership:
    """:class:`core.coordination.Leadership` for replicas sharing one database."""

    def __init__(self, url: str, *, takeover: float = 1.0, check_every: float = 1.0,
                 check_timeout: float = 5.0) -> None:
        self._url = url
        self.takeover = takeover
        self.check_every = check_every
        self.check_timeout = check_timeout

    @contextlib.asynccontextmanager
    async def lead(self, name: str) -> AsyncIterator[Lead]:
        key = leader_key(name)
        conn = await self._wait_for_lock(key)
        lead = Lead(name)
        watch = asyncio.create_task(self._watch(conn, lead), name=f"leader:{name}")
        log.info("leader_elected", name=name)
        try:
            yield lead
        finally:
            watch.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watch
            await self._release(conn, key, lead)

    async def _connect(self) -> psycopg.AsyncConnection[object]:
        conn = await psycopg.AsyncConnection.connect(make_conninfo(self._url, **_CLIENT),
                                                     autocommit=True)
        try:
            await conn.execute(_SESSION.encode())
        except psycopg.Error:
            await conn.close()
            raise
        return conn

    async def _wait_for_lock(self, key: int) -> psycopg.AsyncConnection[object]:
        """A connection holding the lock; retried every ``takeover`` seconds, surviving a
        database that is down or restarting."""
        conn: psycopg.AsyncConnection[object] | None = None
        try:
            while True:
                try:
                    if conn is None or conn.closed:
                        conn = await self._connect()
                    cur = await asyncio.wait_for(
                        conn.execute("SELECT pg_try_advisory_lock(%s)", (key,)),
                        self.check_timeout)
                    row = await cur.fetchone()
                    if row is not None and row[0] is True:  # type: ignore[index]
                        held, conn = conn, None
                        return held
                except (psycopg.Error, OSError, TimeoutError) as err:
                    log.warning("leader_connect_failed", error=type(err).__name__)
                    if conn is not None:
                        await _close_quietly(conn)
                    conn = None
                await asyncio.sleep(self.takeover)
        finally:
            if conn is not None:
                await _close_quietly(conn)

    async def _watch(self, conn: psycopg.AsyncConnection[object], lead: Lead) -> None:
        """Set ``lead.lost`` as soon as the held connection fails."""
        try:
            while True:
                # Waits on the socket: a terminated backend's error wakes it at once.
                async for _ in conn.notifies(timeout=self.check_every):
                    pass
                await asyncio.wait_for(conn.execute("SELECT 1"), self.check_timeout)
        except (psycopg.Error, OSError, TimeoutError) as err:
            log.error("leader_lost", name=lead.name, error=type(err).__name__)
            lead.lost.set()

    async def _release(self, conn: psycopg.AsyncConnection[object], key: int,
                       lead: Lead) -> None:
        try:
            if not lead.lost.is_set() and not conn.closed:
                await asyncio.wait_for(
                    conn.execute("SELECT pg_advisory_unlock(%s)", (key,)), self.check_timeout)
        except (psycopg.Error, OSError, TimeoutError):
            pass  # closing the session frees the lock anyway
        finally:
            await _close_quietly(conn)
            log.info("leader_released", name=lead.name)


async def _close_quietly(conn: psycopg.AsyncConnection[object]) -> None:
    with contextlib.suppress(Exception):
        await asyncio.wait_for(conn.close(), 5)
