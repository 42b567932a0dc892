"""SQLite MemoryStore: memories, their FTS5 index and float32 vectors, on the Store's connection.

Lexical search is BM25 over the asker's own postings in ``memory_terms`` (FTS5, each word
behind its audience's code: see ``terms`` and ``sqlite_lexical``). Vector search is cosine
with numpy over an in-process block per person (and per group scope), exact or IVF, built
in the background when large (``sqlite_blocks``). Deletion is real: rows, FTS entries
(the index is merged so no segment keeps the terms), vectors, then a WAL checkpoint;
``secure_delete`` zeroes the freed pages.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

from core.db.schema import PersonRows
from core.ids import ConversationKey, PersonId
from core.memory import edits, forgetting, sqlite_lexical, sqlite_neighbours
from core.memory import sqlite_links as links
from core.memory.model import (
    SHARED,
    Group,
    Identity,
    LinkResult,
    Memory,
    NewMemory,
    Personal,
    Visibility,
)
from core.memory.neighbours import Adjacent
from core.memory.queue import SQLiteLearningQueue
from core.memory.scope import encode_scope
from core.memory.sqlite_blocks import Blocks
from core.memory.sqlite_rows import COLUMNS as _COLUMNS
from core.memory.sqlite_rows import row as _row
from core.memory.sqlite_rows import ts as _ts
from core.memory.sqlite_rows import visible_sql


class SQLiteMemoryStore:
    def __init__(self, db: Callable[[], sqlite3.Connection],
                 follow: Sequence[PersonRows] = ()) -> None:
        self._db = db
        self._follow = tuple(follow)  # other features' tables whose rows follow a merge
        self._blocks = Blocks(db)
        self._queue = SQLiteLearningQueue(db)

    @property
    def queue(self) -> SQLiteLearningQueue:
        return self._queue

    @property
    def db(self) -> sqlite3.Connection:
        return self._db()

    def _invalidate(self) -> None:
        self._blocks.clear()

    def close(self) -> None:
        self._blocks.clear()  # builds under way are cancelled

    def warm(self) -> None:
        """Start building the largest vector indexes in the background (at start)."""
        self._blocks.warm()

    async def ready(self) -> None:
        """Wait until the vector indexes being built are ready (benchmarks, tests)."""
        await self._blocks.ready()

    def _track(self, memory: Memory, vector: Sequence[float] | None) -> None:
        """Keep cached vector blocks current after an insert, without a rebuild."""
        scope = memory.scope
        key = encode_scope(scope) if isinstance(scope, Group) else memory.person_id
        if vector is None:
            return
        block = self._blocks.cached((key, len(vector)))
        if block is None:
            return  # loaded (with this memory) on next use, or a build under way adds it
        expires = memory.expires_at.timestamp() if memory.expires_at else float("inf")
        block.add(memory.id, vector, memory.scope == SHARED, expires)
        if len(block.tail) > max(1000, block.size // 20):
            self._blocks.grown((key, len(vector)))  # re-indexed in the background

    def _retire(self, memory_id: str) -> None:
        self._blocks.retire(memory_id)

    # -- memories ------------------------------------------------------------------------

    async def add_memory(self, new: NewMemory, now: datetime) -> Memory:
        db, stamp = self.db, now.isoformat()
        with db:
            db.execute("BEGIN")
            memory_id = self._insert(db, new, stamp)
            if new.replaces:
                db.execute(
                    "UPDATE memories SET superseded_by = ?, updated_at = ? "
                    "WHERE id = ? AND person_id = ? AND superseded_by IS NULL",
                    (memory_id, stamp, new.replaces, new.person_id),
                )
            if new.vector is not None:
                self._put_vector(db, memory_id, new.vector)
        found = await self.memory(memory_id)
        assert found is not None
        if new.replaces:
            self._retire(new.replaces)
        self._track(found, new.vector)
        return found

    def _insert(self, db: sqlite3.Connection, new: NewMemory, stamp: str) -> str:
        src = new.source
        for _ in range(5):
            memory_id = "m" + uuid.uuid4().hex[:8]
            try:
                db.execute(
                    f"INSERT INTO memories ({_COLUMNS}) VALUES "
                    "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?)",
                    (memory_id, new.person_id, new.text, new.kind.value, new.pref_key,
                     encode_scope(new.scope),
                     new.confidence, src.inbound_id, src.channel, src.sender,
                     src.at.isoformat(), _ts(new.expires_at), stamp, stamp),
                )
                return memory_id
            except sqlite3.IntegrityError as err:
                if "memories.id" not in str(err):
                    raise
        raise RuntimeError("could not allocate a memory id")

    def _put_vector(self, db: sqlite3.Connection, memory_id: str, vector: Sequence[float]) -> None:
        import numpy as np  # here: ``kith serve`` answers before numpy is imported (0.1 s)

        blob = np.asarray(vector, dtype=np.float32).tobytes()
        db.execute(
            "INSERT OR REPLACE INTO memory_vectors (n, dim, vec) "
            "SELECT n, ?, ? FROM memories WHERE id = ?", (len(vector), blob, memory_id),
        )

    async def set_vector(self, memory_id: str, vector: Sequence[float]) -> None:
        db = self.db
        had = db.execute("SELECT 1 FROM memory_vectors v JOIN memories m ON m.n = v.n "
                         "WHERE m.id = ?", (memory_id,)).fetchone()
        self._put_vector(db, memory_id, vector)
        memory = await self.memory(memory_id)
        if had:
            self._invalidate()  # a vector replaced (rare): blocks are rebuilt
        elif memory is not None and memory.superseded_by is None:
            self._track(memory, vector)  # a backfilled one joins the cached block's tail

    async def unembedded(self, limit: int) -> list[tuple[str, str]]:
        rows = self.db.execute(
            "SELECT m.id, m.text FROM memory_unembedded u JOIN memories m ON m.n = u.n "
            "ORDER BY u.n LIMIT ?", (limit,)).fetchall()
        return [(r[0], r[1]) for r in rows]

    async def memory(self, memory_id: str) -> Memory | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM memories WHERE id = ?", (memory_id,)
        ).fetchone()
        return _row(row) if row else None

    async def memories(
        self, person_id: PersonId, *, history: bool = False, kinds: Sequence[str] = ()
    ) -> list[Memory]:
        where = "" if history else " AND superseded_by IS NULL"
        if kinds:
            where += f" AND kind IN ({','.join('?' * len(kinds))})"
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM memories WHERE person_id = ?{where} ORDER BY n",
            (person_id, *kinds),
        ).fetchall()
        return [_row(r) for r in rows]

    async def latest(
        self, person_id: PersonId, limit: int, kinds: Sequence[str] = ()
    ) -> list[Memory]:
        """The person's newest current memories, newest first: a bounded read by index."""
        where, index = "", "memories_person"
        if kinds:
            where, index = f" AND kind IN ({','.join('?' * len(kinds))})", "memories_person_kind"
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM memories INDEXED BY {index} WHERE person_id = ? "
            f"AND superseded_by IS NULL{where} ORDER BY n DESC LIMIT ?",
            (person_id, *kinds, limit),
        ).fetchall()
        return [_row(r) for r in rows]

    async def memories_by_id(self, ids: Sequence[str]) -> list[Memory]:
        if not ids:
            return []
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM memories WHERE id IN ({marks})", list(ids)
        ).fetchall()
        by_id = {r[0]: _row(r) for r in rows}
        return [by_id[i] for i in ids if i in by_id]

    # -- search --------------------------------------------------------------------------

    async def search_text(
        self, visibility: Visibility, query: str, now: datetime, limit: int
    ) -> list[str]:
        return sqlite_lexical.search(self.db, visibility, query, now, limit)

    async def search_vectors(
        self, visibility: Visibility, vector: Sequence[float], now: datetime, limit: int
    ) -> list[str]:
        import numpy as np  # here: ``kith serve`` answers before numpy is imported (0.1 s)

        query = np.asarray(vector, dtype=np.float32)
        norm = float(np.linalg.norm(query))
        if norm == 0.0:
            return []
        query /= norm
        stamp, dim = now.timestamp(), len(vector)
        found: list[tuple[float, str]] = []
        parts: list[tuple[str, bool]] = []
        if visibility.owner:
            parts.append((visibility.owner, False))
        if visibility.group:
            parts.append((encode_scope(visibility.group), False))
        parts += [(p, True) for p in visibility.present]
        for key, shared_only in parts:
            block = await self._blocks.get((key, dim))
            if block is not None:  # None: being indexed; the lexical lists answer meanwhile
                found += block.search(query, stamp, shared_only, limit)
        found.sort(key=lambda item: -item[0])
        return list(dict.fromkeys(memory_id for _, memory_id in found))[:limit]

    async def search_current(
        self, visibility: Visibility, now: datetime, limit: int
    ) -> list[str]:
        """Time-bound memories still true now ("in Lisbon this week"), newest first."""
        where, params = visible_sql(visibility, now)
        rows = self.db.execute(
            "SELECT m.id FROM memories m INDEXED BY memories_expiring "
            f"WHERE m.expires_at > ? AND {where} ORDER BY m.n DESC LIMIT ?",
            [now.timestamp(), *params, limit],
        ).fetchall()
        return [r[0] for r in rows]

    async def adjacent(
        self, visibility: Visibility, ids: Sequence[str], now: datetime
    ) -> dict[str, Adjacent]:
        return sqlite_neighbours.adjacent(self.db, visibility, ids, now)

    async def people_in(self, conversation: ConversationKey, limit: int) -> list[str]:
        rows = self.db.execute(
            "SELECT person_id FROM turns WHERE conversation = ? AND person_id IS NOT NULL "
            "GROUP BY person_id ORDER BY max(seq) DESC LIMIT ?", (str(conversation), limit),
        ).fetchall()
        return [r[0] for r in rows]

    # -- deletion ------------------------------------------------------------------------

    async def delete_memories(self, person_id: PersonId, ids: Sequence[str],
                              words: str = "") -> int:
        """Delete the person's memories ``ids``, the history they replaced, and the messages
        they were learned from; with ``words``, also every memory, message, reply and
        summary of the person's holding them. Other people's ids are ignored."""
        db = self.db
        with db:
            db.execute("BEGIN")
            if words:
                ids = [*ids, *edits.memories_with(db, person_id, words)]
            doomed = self._with_history(db, person_id, ids)
            self._purge(db, doomed)
            if words:
                edits.drop_turns_with(db, person_id, words)
            if doomed or words:
                edits.drop_command_turns(db, person_id)
        self._scrub(db)
        return len(doomed)

    async def delete_all(self, person_id: PersonId) -> int:
        db = self.db
        with db:
            db.execute("BEGIN")
            rows = db.execute("SELECT id FROM memories WHERE person_id = ?", (person_id,))
            doomed = [r[0] for r in rows.fetchall()]
            self._purge(db, doomed)
            edits.drop_person_turns(db, person_id)  # a fact said twice; a guessed source
            db.execute("DELETE FROM memory_forget_pending WHERE person_id = ?", (person_id,))
        self._scrub(db)
        return len(doomed)

    def _with_history(
        self, db: sqlite3.Connection, person_id: PersonId, ids: Sequence[str]
    ) -> list[str]:
        frontier = [i for i in ids if db.execute(
            "SELECT 1 FROM memories WHERE id = ? AND person_id = ?", (i, person_id)
        ).fetchone()]
        doomed: list[str] = []
        while frontier:
            doomed += [i for i in frontier if i not in doomed]
            marks = ",".join("?" * len(frontier))
            rows = db.execute(
                f"SELECT id FROM memories WHERE person_id = ? AND superseded_by IN ({marks})",
                [person_id, *frontier],
            ).fetchall()
            frontier = [r[0] for r in rows if r[0] not in doomed]
        return doomed

    def _purge(self, db: sqlite3.Connection, ids: Sequence[str]) -> None:
        for start in range(0, len(ids), 500):
            chunk = list(ids[start:start + 500])
            marks = ",".join("?" * len(chunk))
            sources = [r[0] for r in db.execute(
                f"SELECT DISTINCT source_inbound FROM memories WHERE id IN ({marks})", chunk
            ).fetchall()]
            db.execute(f"DELETE FROM memories WHERE id IN ({marks})", chunk)
            db.execute(
                f"UPDATE memories SET superseded_by = NULL WHERE superseded_by IN ({marks})", chunk
            )
            for source in sources:
                # the rolling summary may retell the forgotten turn: drop it, it is rebuilt
                db.execute(
                    "UPDATE conversations SET summary = '', summary_upto = 0 WHERE key IN "
                    "(SELECT conversation FROM turns WHERE inbound_id = ?)", (source,),
                )
                db.execute("DELETE FROM turns WHERE inbound_id = ?", (source,))
                db.execute("DELETE FROM inbox WHERE id = ? AND status != 'pending'", (source,))

    def _scrub(self, db: sqlite3.Connection) -> None:
        """Merge the FTS index (dropping deleted terms) and checkpoint the WAL away."""
        db.execute("INSERT INTO memory_terms(memory_terms) VALUES ('optimize')")
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._invalidate()

    async def update_memory(
        self, person_id: PersonId, memory_id: str, now: datetime, *, text: str | None = None,
        scope: Personal | None = None,
    ) -> Memory | None:
        """Correct the text and/or set the scope of the person's active memory in place."""
        stored = encode_scope(scope) if scope is not None else None
        if not edits.update(self.db, person_id, memory_id, text=text, scope=stored,
                            stamp=now.isoformat()):
            return None
        self._scrub(self.db)  # the old words leave the index, the WAL and (secure_delete) pages
        return await self.memory(memory_id)

    async def source_texts(self, inbound_ids: Sequence[str]) -> dict[str, str]:
        return edits.source_texts(self.db, inbound_ids)

    # -- per-person switches -------------------------------------------------------------

    async def learning(self, person_id: PersonId) -> bool:
        row = self.db.execute("SELECT learning FROM people WHERE id = ?", (person_id,)).fetchone()
        return bool(row[0]) if row else True

    async def set_learning(self, person_id: PersonId, on: bool) -> None:
        self.db.execute("UPDATE people SET learning = ? WHERE id = ?", (int(on), person_id))

    async def set_pending_forget(self, person_id: PersonId, ids: Sequence[str],
                                 text: str = "") -> None:
        self.db.execute(
            "INSERT OR REPLACE INTO memory_forget_pending (person_id, ids, created_at) "
            "VALUES (?, ?, ?)",
            (person_id, forgetting.encode(ids, text), datetime.now(UTC).isoformat()),
        )

    async def take_pending_forget(self, person_id: PersonId) -> forgetting.Pending:
        row = self.db.execute(
            "DELETE FROM memory_forget_pending WHERE person_id = ? RETURNING ids", (person_id,)
        ).fetchone()
        return forgetting.decode(row[0] if row else None)

    # -- identities, linking, export -----------------------------------------------------

    async def identities(self, person_id: PersonId) -> list[Identity]:
        return links.identities(self.db, person_id)

    async def create_link_code(self, person_id: PersonId, now: datetime, ttl_seconds: int) -> str:
        return links.create_code(self.db, person_id, now, ttl_seconds)

    async def redeem_link_code(self, code: str, person_id: PersonId, now: datetime) -> LinkResult:
        result = links.redeem(self.db, code, person_id, now, self._follow)
        self._invalidate()
        return result

    async def unlink(self, person_id: PersonId, channel: str,
                     platform_id: str) -> PersonId | None:
        new_person = links.unlink(self.db, person_id, channel, platform_id)
        self._invalidate()
        return new_person

    async def export(self, person_id: PersonId) -> dict[str, Any]:
        return links.export(self.db, person_id)
