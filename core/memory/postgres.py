"""PostgreSQL MemoryStore: memories, their full-text words and pgvector embeddings.

The same contract as :class:`core.memory.store.SQLiteMemoryStore`, for many replicas on
one database. Every search runs in the database and filters by visibility in SQL (a
person's private memories never reach a group or another person); nothing about memories
is cached in the process, so no replica can serve what another changed or deleted.
Searches: :mod:`memory_search`; deletion and edits (and what VACUUM does): :mod:`memory_edit`;
identities and linking: :mod:`identity`; the learning queue: :mod:`learning`.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.db.schema import PersonRows
from core.db.vacuum import vacuum
from core.ids import ConversationKey, PersonId
from core.memory import forgetting
from core.memory import postgres_edit as memory_edit
from core.memory import postgres_fulltext as fulltext
from core.memory import postgres_links as identity
from core.memory import postgres_search as memory_search
from core.memory.model import (
    Identity,
    LinkResult,
    Memory,
    MemoryKind,
    NewMemory,
    Personal,
    Source,
    Visibility,
)
from core.memory.neighbours import Adjacent
from core.memory.postgres_learning import PostgresLearningQueue
from core.memory.postgres_search import Conn
from core.memory.scope import decode_scope, encode_scope

_COLUMNS = (
    "id, person_id, text, kind, pref_key, scope, confidence, source_inbound, source_channel, "
    "source_sender, source_at, expires_at, superseded_by, created_at, updated_at"
)
# one statement (atomic on its own): the row, the memory it replaces, and its vector
_ADD = (
    f"WITH m AS (INSERT INTO memories ({_COLUMNS}, tsv, words) VALUES (%(id)s, %(person)s, "
    "%(text)s, %(kind)s, %(pref_key)s, %(scope)s, %(confidence)s, %(inbound)s, %(channel)s, "
    "%(sender)s, %(at)s, %(expires)s, NULL, %(now)s, %(now)s, "
    f"to_tsvector('{fulltext.CONFIG}', %(words)s), %(count)s) "
    f"ON CONFLICT (id) DO NOTHING RETURNING n, {_COLUMNS}), "
    "replaced AS (UPDATE memories SET superseded_by = %(id)s, updated_at = %(now)s "
    "WHERE id = %(replaces)s AND person_id = %(person)s AND superseded_by IS NULL "
    "AND EXISTS (SELECT 1 FROM m)), "
    "vector AS (INSERT INTO memory_vectors (n, dim, vec) "
    "SELECT n, %(dim)s, %(vec)s::vector FROM m WHERE %(vec)s::text IS NOT NULL) "
    f"SELECT {_COLUMNS} FROM m"
)


def _utc(value: datetime) -> datetime:
    return value.astimezone(UTC)


def _row(row: Sequence[Any]) -> Memory:
    return Memory(
        id=row[0], person_id=row[1], text=row[2], kind=MemoryKind(row[3]), pref_key=row[4],
        scope=decode_scope(row[5]), confidence=row[6],
        source=Source(row[7], row[8], row[9], _utc(row[10])),
        expires_at=_utc(row[11]) if row[11] is not None else None, superseded_by=row[12],
        created_at=_utc(row[13]), updated_at=_utc(row[14]),
    )


class PostgresMemoryStore:
    def __init__(self, pool: AsyncConnectionPool[Any], follow: Sequence[PersonRows] = ()) -> None:
        self._pool = pool
        self._follow = tuple(follow)  # other features' tables whose rows follow a merge
        self._queue = PostgresLearningQueue(pool)

    @property
    def queue(self) -> PostgresLearningQueue:
        return self._queue

    # -- memories ------------------------------------------------------------------------

    async def add_memory(self, new: NewMemory, now: datetime) -> Memory:
        src = new.source
        words, count = fulltext.document(new.text)
        vector = new.vector
        params = {
            "person": new.person_id, "text": new.text, "kind": new.kind.value,
            "pref_key": new.pref_key, "scope": encode_scope(new.scope),
            "confidence": new.confidence,
            "inbound": src.inbound_id, "channel": src.channel, "sender": src.sender,
            "at": src.at, "expires": new.expires_at, "now": now, "words": words,
            "count": count, "replaces": new.replaces,
            "dim": len(vector) if vector is not None else 0,
            "vec": memory_search.vector_literal(vector) if vector is not None else None,
        }
        async with self._pool.connection() as conn:
            for _ in range(5):
                cur = await conn.execute(_ADD, {**params, "id": "m" + uuid.uuid4().hex[:8]})
                row = await cur.fetchone()
                if row is not None:
                    return _row(row)
        raise RuntimeError("could not allocate a memory id")

    async def set_vector(self, memory_id: str, vector: Sequence[float]) -> None:
        """Store (or replace) the memory's embedding; one with a NaN or inf is dropped."""
        literal = memory_search.vector_literal(vector)
        async with self._pool.connection() as conn:
            if literal is None:
                await conn.execute("DELETE FROM memory_vectors WHERE n = "
                                   "(SELECT n FROM memories WHERE id = %s)", (memory_id,))
                return
            await conn.execute(
                "INSERT INTO memory_vectors (n, dim, vec) SELECT n, %s, %s::vector "
                "FROM memories WHERE id = %s "
                "ON CONFLICT (n) DO UPDATE SET dim = excluded.dim, vec = excluded.vec",
                (len(vector), literal, memory_id))

    async def unembedded(self, limit: int) -> list[tuple[str, str]]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT m.id, m.text FROM memory_unembedded u JOIN memories m ON m.n = u.n "
                "ORDER BY u.n LIMIT %s", (limit,))
            return [(str(r[0]), str(r[1])) for r in await cur.fetchall()]

    async def memory(self, memory_id: str) -> Memory | None:
        async with self._pool.connection() as conn:
            return await _one(conn, memory_id)

    async def memories(
        self, person_id: PersonId, *, history: bool = False, kinds: Sequence[str] = ()
    ) -> list[Memory]:
        where = "" if history else " AND superseded_by IS NULL"
        if kinds:
            where += " AND kind = ANY(%(kinds)s)"
        return await self._select(
            f"SELECT {_COLUMNS} FROM memories WHERE person_id = %(p)s{where} ORDER BY n",
            {"p": person_id, "kinds": list(kinds)})

    async def latest(
        self, person_id: PersonId, limit: int, kinds: Sequence[str] = ()
    ) -> list[Memory]:
        """The person's newest current memories, newest first: a bounded read by index."""
        where = " AND kind = ANY(%(kinds)s)" if kinds else ""
        return await self._select(
            f"SELECT {_COLUMNS} FROM memories WHERE person_id = %(p)s "
            f"AND superseded_by IS NULL{where} ORDER BY n DESC LIMIT %(limit)s",
            {"p": person_id, "kinds": list(kinds), "limit": limit})

    async def memories_by_id(self, ids: Sequence[str]) -> list[Memory]:
        if not ids:
            return []
        found = await self._select(
            f"SELECT {_COLUMNS} FROM memories WHERE id = ANY(%(ids)s)", {"ids": list(ids)})
        by_id = {m.id: m for m in found}
        return [by_id[i] for i in ids if i in by_id]

    async def _select(self, sql: str, params: dict[str, Any]) -> list[Memory]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql.encode(), params)
            return [_row(r) for r in await cur.fetchall()]

    # -- search --------------------------------------------------------------------------

    async def search_text(
        self, visibility: Visibility, query: str, now: datetime, limit: int
    ) -> list[str]:
        async with self._pool.connection() as conn:
            return await memory_search.search_text(conn, visibility, query, now, limit)

    async def search_vectors(
        self, visibility: Visibility, vector: Sequence[float], now: datetime, limit: int
    ) -> list[str]:
        async with self._pool.connection() as conn:
            return await memory_search.search_vectors(conn, visibility, vector, now, limit)

    async def search_current(
        self, visibility: Visibility, now: datetime, limit: int
    ) -> list[str]:
        async with self._pool.connection() as conn:
            return await memory_search.search_current(conn, visibility, now, limit)

    async def adjacent(
        self, visibility: Visibility, ids: Sequence[str], now: datetime
    ) -> dict[str, Adjacent]:
        async with self._pool.connection() as conn:
            return await memory_search.adjacent(conn, visibility, ids, now)

    async def people_in(self, conversation: ConversationKey, limit: int) -> list[str]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT person_id FROM turns WHERE conversation = %s AND person_id IS NOT NULL "
                "GROUP BY person_id ORDER BY max(seq) DESC LIMIT %s", (str(conversation), limit))
            return [str(r[0]) for r in await cur.fetchall()]

    # -- deletion and edits --------------------------------------------------------------

    async def delete_memories(self, person_id: PersonId, ids: Sequence[str],
                              words: str = "") -> int:
        """Delete the person's memories ``ids``, the history they replaced, and the messages
        they were learned from; with ``words``, also every memory, message, reply and
        summary of the person's holding them; then VACUUM (see :mod:`memory_edit`). Other
        people's ids are ignored."""
        async with self._pool.connection() as conn:
            async with conn.transaction():
                if words:
                    ids = [*ids, *await memory_edit.memories_with(conn, person_id, words)]
                doomed = await memory_edit.with_history(conn, person_id, ids)
                await memory_edit.purge(conn, doomed)
                if words:
                    await memory_edit.drop_turns_with(conn, person_id, words)
                if doomed or words:
                    await memory_edit.drop_command_turns(conn, person_id)
            if doomed or words:
                await vacuum(conn, memory_edit.DELETE_TABLES)
        return len(doomed)

    async def delete_all(self, person_id: PersonId) -> int:
        async with self._pool.connection() as conn:
            async with conn.transaction():
                cur = await conn.execute(
                    "SELECT id FROM memories WHERE person_id = %s FOR UPDATE", (person_id,))
                doomed = [str(r[0]) for r in await cur.fetchall()]
                await memory_edit.purge(conn, doomed)
                # a fact said twice, a guessed source, a reminder's request: all their words
                await memory_edit.drop_person_turns(conn, person_id)
                await conn.execute(
                    "DELETE FROM memory_forget_pending WHERE person_id = %s", (person_id,))
            await vacuum(conn, memory_edit.DELETE_TABLES)
        return len(doomed)

    async def update_memory(
        self, person_id: PersonId, memory_id: str, now: datetime, *, text: str | None = None,
        scope: Personal | None = None,
    ) -> Memory | None:
        """Correct the text and/or set the scope of the person's active memory in place;
        a new text is followed by a VACUUM, so the old words leave the live files."""
        stored = encode_scope(scope) if scope is not None else None
        async with self._pool.connection() as conn:
            async with conn.transaction():
                if not await memory_edit.update(conn, person_id, memory_id, now, text=text,
                                                scope=stored):
                    return None
                found = await _one(conn, memory_id)
            if text is not None:
                await vacuum(conn, memory_edit.DELETE_TABLES)
        return found

    async def source_texts(self, inbound_ids: Sequence[str]) -> dict[str, str]:
        async with self._pool.connection() as conn:
            return await memory_edit.source_texts(conn, inbound_ids)

    # -- per-person switches -------------------------------------------------------------

    async def learning(self, person_id: PersonId) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT learning FROM people WHERE id = %s", (person_id,))
            row = await cur.fetchone()
        return bool(row[0]) if row else True

    async def set_learning(self, person_id: PersonId, on: bool) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("UPDATE people SET learning = %s WHERE id = %s", (on, person_id))

    async def set_pending_forget(self, person_id: PersonId, ids: Sequence[str],
                                 text: str = "") -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO memory_forget_pending (person_id, ids, created_at) "
                "VALUES (%s, %s, now()) ON CONFLICT (person_id) DO UPDATE "
                "SET ids = excluded.ids, created_at = excluded.created_at",
                (person_id, forgetting.encode(ids, text)))

    async def take_pending_forget(self, person_id: PersonId) -> forgetting.Pending:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM memory_forget_pending WHERE person_id = %s RETURNING ids",
                (person_id,))
            row = await cur.fetchone()
        return forgetting.decode(str(row[0]) if row else None)

    # -- identities, linking, export -----------------------------------------------------

    async def identities(self, person_id: PersonId) -> list[Identity]:
        async with self._pool.connection() as conn:
            return await identity.identities(conn, person_id)

    async def create_link_code(self, person_id: PersonId, now: datetime, ttl_seconds: int) -> str:
        async with self._pool.connection() as conn:
            return await identity.create_code(conn, person_id, now, ttl_seconds)

    async def redeem_link_code(self, code: str, person_id: PersonId, now: datetime) -> LinkResult:
        async with self._pool.connection() as conn:
            return await identity.redeem(conn, code, person_id, now, self._follow)

    async def unlink(self, person_id: PersonId, channel: str,
                     platform_id: str) -> PersonId | None:
        async with self._pool.connection() as conn:
            return await identity.unlink(conn, person_id, channel, platform_id)

    async def export(self, person_id: PersonId) -> dict[str, Any]:
        async with self._pool.connection() as conn:
            return await identity.export(conn, person_id)


async def _one(conn: Conn, memory_id: str) -> Memory | None:
    cur = await conn.execute(f"SELECT {_COLUMNS} FROM memories WHERE id = %s", (memory_id,))
    row = await cur.fetchone()
    return _row(row) if row else None

