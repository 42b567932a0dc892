"""PostgreSQL learning queue: one row per conversation and person, shared by every replica.

As :mod:`core.memory.queue`, with the lease safe across replicas: ``claim`` is one
conditional ``UPDATE … WHERE claimed_until IS NULL OR claimed_until < now RETURNING``.
Two replicas claiming one key at once both reach the row; PostgreSQL makes the second wait
for the first's commit and then re-checks the condition on the row as the first left it
(READ COMMITTED re-evaluation), so it finds the lease held and gets nothing. A lease
whose holder died runs out and the next claim takes it over. ``now`` is the caller's
clock: replicas' clocks must agree to well within a lease (NTP does).
"""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.ids import ConversationKey, InboundId, PersonId
from core.memory.model import LearningKey, LearningWork, Said
from core.memory.postgres_times import as_datetime

_WORK = ("conversation, person_id, channel, sender, display_name, is_group, upto_seq, "
         "pending, failures")
_NOTE = """
INSERT INTO memory_learning (conversation, person_id, channel, sender, display_name, is_group,
                             upto_seq, pending, updated_at)
VALUES (%(c)s, %(p)s, %(channel)s, %(sender)s, %(name)s, %(group)s,
        (SELECT coalesce(max(seq), 0) FROM turns WHERE person_id = %(p)s
         AND conversation = %(c)s AND coalesce(inbound_id, '') <> %(inbound)s), 1, %(now)s)
ON CONFLICT (conversation, person_id) DO UPDATE SET pending = memory_learning.pending + 1,
    sender = excluded.sender, channel = excluded.channel,
    display_name = excluded.display_name, updated_at = excluded.updated_at
RETURNING pending"""


def _work(row: tuple[Any, ...]) -> LearningWork:
    conv, person, channel, sender, name, group, upto, pending, failures = row
    key = LearningKey(ConversationKey.parse(str(conv)), PersonId(str(person)))  # as stored
    return LearningWork(key, str(channel), str(sender),
                        str(name), bool(group), int(upto), int(pending), int(failures))


class PostgresLearningQueue:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool

    async def note(self, work: LearningWork, inbound_id: InboundId, now: float) -> int:
        """Count the answered turn ``inbound_id``. A new row starts its cursor just before
        that turn: what was said before (or learned turn by turn) is not read again."""
        key = work.key
        async with self._pool.connection() as conn:
            cur = await conn.execute(_NOTE, {
                "c": str(key.conversation), "p": key.person_id, "channel": work.channel,
                "sender": work.sender, "name": work.display_name, "group": work.is_group,
                "inbound": inbound_id, "now": now})
            row = await cur.fetchone()
        assert row is not None
        return int(row[0])

    async def waiting(self) -> list[LearningWork]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_WORK} FROM memory_learning WHERE pending > 0 "
                "ORDER BY updated_at, conversation, person_id")
            return [_work(r) for r in await cur.fetchall()]

    async def claim(self, key: LearningKey, now: float, lease: float) -> LearningWork | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE memory_learning SET claimed_until = %s WHERE conversation = %s AND "
                "person_id = %s AND pending > 0 AND (claimed_until IS NULL OR "
                f"claimed_until < %s) RETURNING {_WORK}",
                (now + lease, str(key.conversation), key.person_id, now))
            row = await cur.fetchone()
        return _work(row) if row else None

    async def said_since(self, key: LearningKey, after_seq: int, limit: int) -> list[Said]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT seq, coalesce(inbound_id, ''), text, created_at FROM turns "
                "WHERE person_id = %s AND conversation = %s AND seq > %s AND role = 'user' "
                "AND NOT command AND text <> '' ORDER BY seq LIMIT %s",
                (key.person_id, str(key.conversation), after_seq, limit))
            rows = await cur.fetchall()
        return [Said(int(seq), InboundId(str(inbound)), str(text), as_datetime(at))
                for seq, inbound, text, at in rows]

    async def advance(self, key: LearningKey, upto_seq: int, noted: int) -> None:
        """Turns up to ``upto_seq`` are learned; ``noted`` of the pending ones are done."""
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE memory_learning SET upto_seq = greatest(upto_seq, %s), "
                "pending = greatest(0, pending - %s), failures = 0 "
                "WHERE conversation = %s AND person_id = %s",
                (upto_seq, noted, str(key.conversation), key.person_id))

    async def release(self, key: LearningKey, failed: bool) -> int:
        """Give the lease back (counting a failure); returns the failures so far."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE memory_learning SET claimed_until = NULL, failures = failures + %s "
                "WHERE conversation = %s AND person_id = %s RETURNING failures",
                (int(failed), str(key.conversation), key.person_id))
            row = await cur.fetchone()
        return int(row[0]) if row else 0
