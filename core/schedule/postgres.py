"""PostgreSQL ScheduleStore, on the store's connection pool.

``claim_due`` is safe across replicas: it locks the due rows ``FOR UPDATE SKIP LOCKED`` in
one transaction that records each occurrence in ``schedule_fired`` and moves the schedule on
(next occurrence, or inactive). A replica claiming at the same moment skips the rows locked
here and, once this commits, no longer finds them due: no occurrence is claimed twice.
``subscribe`` callbacks run on this replica's own changes (as SQLite's do); other replicas
see a new schedule within their scheduler's ``max_sleep``.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from datetime import datetime

import psycopg
from psycopg_pool import AsyncConnectionPool

from core.codec import inbound_from_json, inbound_to_json
from core.db.vacuum import vacuum
from core.events import ConversationKey, Inbound
from core.ids import PersonId
from core.schedule.model import (
    Kind,
    NewSchedule,
    Schedule,
    next_after,
    occurrence,
    origin_template,
)

_COLUMNS = "id, person_id, kind, conversation, text, timezone, rule, anchor, due_at, created_at"
Row = Sequence[object]


def _schedule(row: Row) -> Schedule:
    sid, person, kind, conv, text, tz, rule, anchor, due, created = row
    assert isinstance(anchor, datetime) and isinstance(due, datetime)
    assert isinstance(created, datetime)
    return Schedule(
        id=str(sid), person_id=PersonId(str(person)), kind=Kind(str(kind)),
        conversation=ConversationKey.parse(str(conv)), text=str(text), timezone=str(tz),
        rule=str(rule) if rule else None, anchor=anchor, due_at=due, created_at=created)


class PostgresScheduleStore:
    def __init__(self, pool: AsyncConnectionPool,
                 listeners: list[Callable[[], None]] | None = None) -> None:
        self._pool = pool
        # shared with the same store on one transaction's connection (Store.atomically)
        self._listeners: list[Callable[[], None]] = [] if listeners is None else listeners

    def on(self, pool: AsyncConnectionPool) -> PostgresScheduleStore:
        """This store on another pool (one transaction's), telling the same listeners."""
        return PostgresScheduleStore(pool, self._listeners)

    def subscribe(self, callback: Callable[[], None]) -> None:
        """``callback`` runs after every change of what is due made here (the scheduler's
        wake-up)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    async def add(self, new: NewSchedule, now: datetime) -> Schedule:
        prefix = "b" if new.kind is Kind.BRIEFING else "r"
        origin = origin_template(new.origin)
        async with self._pool.connection() as conn:
            while True:  # short ids people can type; a clash (rare) just draws another
                cur = await conn.execute(
                    "INSERT INTO schedules (id, person_id, kind, conversation, origin, text, "
                    "timezone, rule, anchor, due_at, created_at) "
                    "VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                    f"ON CONFLICT (id) DO NOTHING RETURNING {_COLUMNS}",
                    (prefix + secrets.token_hex(4), new.person_id, new.kind.value,
                     str(origin.conversation), inbound_to_json(origin), new.text,
                     new.timezone, new.rule, new.anchor, new.due_at, now))
                row = await cur.fetchone()
                if row is not None:
                    break
        self._changed()
        return _schedule(row)

    async def get(self, schedule_id: str) -> Schedule | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE id = %s AND active", (schedule_id,))
            row = await cur.fetchone()
        return _schedule(row) if row else None

    async def cancel(self, person_id: PersonId, schedule_id: str) -> Schedule | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM schedules WHERE id = %s AND person_id = %s AND active "
                f"RETURNING {_COLUMNS}", (schedule_id.strip().lower(), person_id))
            row = await cur.fetchone()
        if row is None:
            return None
        self._changed()
        return _schedule(row)

    async def for_person(self, person_id: PersonId, kind: Kind | None = None) -> list[Schedule]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM schedules WHERE person_id = %s AND active "
                "AND (%s::text IS NULL OR kind = %s) ORDER BY due_at",
                (person_id, kind and kind.value, kind and kind.value))
            return [_schedule(r) for r in await cur.fetchall()]

    async def next_due(self) -> datetime | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT min(due_at) FROM schedules WHERE active")
            row = await cur.fetchone()
        return row[0] if row and isinstance(row[0], datetime) else None

    async def claim_due(self, now: datetime, limit: int) -> list[Inbound]:
        """Claim up to ``limit`` due occurrences atomically; returns their Inbounds."""
        fired: list[Inbound] = []
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                f"SELECT {_COLUMNS}, origin FROM schedules WHERE active AND due_at <= %s "
                "ORDER BY due_at LIMIT %s FOR UPDATE SKIP LOCKED", (now, limit))
            for row in await cur.fetchall():
                inbound = await self._fire(conn, _schedule(row[:-1]), str(row[-1]), now)
                if inbound is not None:
                    fired.append(inbound)
        return fired

    @staticmethod
    async def _fire(conn: psycopg.AsyncConnection[tuple[object, ...]], item: Schedule,
                    origin: str, now: datetime) -> Inbound | None:
        inbound = occurrence(inbound_from_json(origin), item.id, item.kind, item.text,
                             item.due_at, item.timezone, now)
        cur = await conn.execute(
            "INSERT INTO schedule_fired (inbound_id, schedule_id, payload) VALUES (%s, %s, %s) "
            "ON CONFLICT (inbound_id) DO NOTHING", (inbound.id, item.id, inbound_to_json(inbound)))
        following = next_after(item, now)
        if following is None:
            await conn.execute("UPDATE schedules SET active = false WHERE id = %s", (item.id,))
        else:
            await conn.execute("UPDATE schedules SET due_at = %s WHERE id = %s",
                               (following, item.id))
        return inbound if cur.rowcount == 1 else None  # 0: this occurrence fired already

    async def unsubmitted(self) -> list[Inbound]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT payload FROM schedule_fired WHERE NOT submitted ORDER BY seq")
            return [inbound_from_json(str(r[0])) for r in await cur.fetchall()]

    async def mark_submitted(self, inbound_ids: Sequence[str]) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE schedule_fired SET submitted = true, payload = '' "
                "WHERE inbound_id = ANY(%s)", (list(inbound_ids),))

    async def delete_person(self, person_id: PersonId) -> int:
        async with self._pool.connection() as conn:
            async with conn.transaction():
                await conn.execute(
                    "DELETE FROM schedule_fired WHERE schedule_id IN "
                    "(SELECT id FROM schedules WHERE person_id = %s)", (person_id,))
                cur = await conn.execute("DELETE FROM schedules WHERE person_id = %s",
                                         (person_id,))
                count = cur.rowcount
            await vacuum(conn, ("schedules", "schedule_fired"))
        self._changed()
        return count

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        async with self._pool.connection() as conn:
            async with conn.transaction():
                cur = await conn.execute(
                    "SELECT id FROM schedules WHERE person_id = %s "
                    "AND strpos(lower(text), lower(%s)) > 0", (person_id, words))
                ids = [str(r[0]) for r in await cur.fetchall()]
                await conn.execute("DELETE FROM schedule_fired WHERE schedule_id = ANY(%s)",
                                   (ids,))
                await conn.execute("DELETE FROM schedules WHERE id = ANY(%s)", (ids,))
            await vacuum(conn, ("schedules", "schedule_fired"))
        self._changed()
        return len(ids)

