"""Turn leases on PostgreSQL: a conversation's turns run in one replica at a time.

Each replica holds a *presence* connection with a session advisory lock on a random key (its
owner id). A lease row names the
owner running a conversation; another replica may take it when the owner released it, when
its ``until`` passed (renewed every ``ttl / 3`` while held), or at once when the owner's
presence lock is gone (it died: PostgreSQL frees a dead session's locks). The dispatcher
decides what to run from the inbox itself, so a replica that takes a conversation over
continues where the dead one stopped, in arrival order.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

import psycopg
from psycopg_pool import AsyncConnectionPool

from core.codec import inbound_from_json
from core.events import ConversationKey, Inbound
from core.inbox.schema import OPEN
from core.logging import get_logger

log = get_logger("kith.leases")
PRESENCE = 0x4B495450  # "KITP": the high half of every replica's presence lock key
# the owner's presence lock is granted in this database: it is alive
_ALIVE = """EXISTS (SELECT 1 FROM pg_locks k
    WHERE k.locktype = 'advisory' AND k.granted AND k.objsubid = 1
      AND k.database = (SELECT oid FROM pg_database WHERE datname = current_database())
      AND k.classid::bigint = ({owner} >> 32) AND k.objid::bigint = ({owner} & 4294967295))"""
_ACQUIRE = f"""
INSERT INTO turn_leases AS l (conversation, owner, until)
VALUES (%(c)s, %(o)s, now() + %(ttl)s * interval '1 second')
ON CONFLICT (conversation) DO UPDATE SET owner = EXCLUDED.owner, until = EXCLUDED.until
WHERE l.owner = EXCLUDED.owner OR l.until < now() OR NOT {_ALIVE.format(owner="l.owner")}
RETURNING 1"""
_ORPHANED = f"""
SELECT i.conversation FROM inbox i
WHERE i.status IN ('pending', 'answered', 'held')
  AND NOT EXISTS (SELECT 1 FROM turn_leases l WHERE l.conversation = i.conversation
                  AND l.until >= now() AND {_ALIVE.format(owner="l.owner")})
GROUP BY i.conversation ORDER BY min(i.seq) LIMIT %(n)s"""

# the lease taken, and then (its one row with a NULL payload when nothing is open) the
# conversation's open messages; no row: another replica holds it
_TAKE = f"""
WITH lease AS ({_ACQUIRE})
SELECT i.payload FROM lease LEFT JOIN LATERAL (
    SELECT payload, seq FROM inbox WHERE conversation = %(c)s AND {OPEN}) i ON true
ORDER BY i.seq"""

_ACTIVE = f"""SELECT count(*) FROM turn_leases l
WHERE l.until >= now() AND {_ALIVE.format(owner="l.owner")}"""


class PostgresLeases:
    """:class:`core.coordination.TurnLeases` shared by every replica on one database."""

    replicated = True

    def __init__(self, url: str, ttl: float = 30.0, pool_size: int = 4) -> None:
        self._url = url
        # autocommit: every lease statement stands alone (no BEGIN and COMMIT around it)
        self._pool = AsyncConnectionPool(url, min_size=1, max_size=pool_size, open=False,
                                         kwargs={"autocommit": True}, name="kith-leases")
        self.ttl = ttl
        # the presence lock's key: PRESENCE in the high half marks it as a replica's
        self.owner = (PRESENCE << 32) | secrets.randbits(31)
        self._held: set[str] = set()  # conversation keys as stored
        self._presence: psycopg.AsyncConnection[object] | None = None
        self._tasks: list[asyncio.Task[None]] = []

    async def open(self) -> None:
        await self._pool.open(wait=True)
        await self._be_present()
        self._tasks = [asyncio.create_task(self._watch(), name="leases:presence"),
                       asyncio.create_task(self._renew(), name="leases:renew")]

    async def _be_present(self) -> None:
        conn = await psycopg.AsyncConnection.connect(self._url, autocommit=True)
        await conn.execute("SELECT pg_advisory_lock(%s)", (self.owner,))
        self._presence = conn

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks = []
        if self._presence is not None:
            await self._presence.close()  # frees the presence lock: our leases are free
            self._presence = None
        await self._pool.close()

    async def acquire(self, conversation: ConversationKey) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_ACQUIRE, {"c": str(conversation), "o": self.owner,
                                                "ttl": self.ttl})
            got = await cur.fetchone() is not None
        if got:
            self._held.add(str(conversation))
        return got

    async def take(self, conversation: ConversationKey) -> list[Inbound] | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_TAKE, {"c": str(conversation), "o": self.owner,
                                             "ttl": self.ttl})
            rows = await cur.fetchall()
        if not rows:
            return None
        self._held.add(str(conversation))
        return [inbound_from_json(str(row[0])) for row in rows if row[0] is not None]

    async def let_go(self, conversation: ConversationKey) -> list[Inbound]:
        self._held.discard(str(conversation))
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT kith_let_go(%s, %s)",
                                     (str(conversation), self.owner))
            return [inbound_from_json(str(row[0])) for row in await cur.fetchall()]

    async def release(self, conversation: ConversationKey) -> None:
        self._held.discard(str(conversation))
        async with self._pool.connection() as conn:
            await conn.execute(
                "DELETE FROM turn_leases WHERE conversation = %s AND owner = %s",
                (str(conversation), self.owner))

    async def orphaned(self, limit: int) -> list[ConversationKey]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_ORPHANED, {"n": limit})
            return [ConversationKey.parse(str(row[0])) for row in await cur.fetchall()]

    def holding(self) -> int:
        return len(self._held)

    def token(self) -> int | None:
        return self.owner  # a turn commits only while its lease row still names it

    async def active(self) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_ACTIVE)
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def replicas(self) -> int:
        """How many replicas are alive on this database (their presence locks)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND objsubid = 1 AND classid::bigint = %s AND database = "
                "(SELECT oid FROM pg_database WHERE datname = current_database())",
                (PRESENCE,))
            row = await cur.fetchone()
        return max(1, int(row[0])) if row else 1

    async def _watch(self, every: float = 2.0) -> None:
        """Keep the presence alive: when its connection fails, every lease of ours is free
        to others (and a turn running here may be run again there); take it up again."""
        while True:
            await asyncio.sleep(every)
            try:
                assert self._presence is not None
                await self._presence.execute("SELECT 1")
                continue
            except (psycopg.Error, AssertionError) as err:
                log.error("presence_lost", error=type(err).__name__)
            with contextlib.suppress(psycopg.Error):
                if self._presence is not None:
                    await self._presence.close()
                await self._be_present()
                log.info("presence_back")

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(self.ttl / 3)
            if not self._held:
                continue
            try:
                async with self._pool.connection() as conn:
                    await conn.execute(
                        "UPDATE turn_leases SET until = now() + %s * interval '1 second' "
                        "WHERE owner = %s AND conversation = ANY(%s)",
                        (self.ttl, self.owner, list(self._held)))
            except psycopg.Error as err:
                log.warning("lease_renew_failed", error=type(err).__name__)
