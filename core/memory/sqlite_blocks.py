"""The in-process vector blocks of the SQLite store, built without stalling a turn.

One :class:`Block` per audience key (a person, or a group scope) and dimension. A small
audience (at most ``SYNC_ROWS`` memories) is loaded at once on first use: a few
milliseconds. A larger one is loaded and indexed on a thread with its own read connection
(WAL: it never waits for, or blocks, the store's writes) while the queries meanwhile go
without its vectors — recall then rests on its lexical and current lists — instead of
waiting seconds for the build. A block whose exactly-searched tail has grown is rebuilt the
same way while the old one keeps answering; memories written during a build are added to
the new block's tail when it is swapped in. At start, the largest audiences are built in
the background (:meth:`Blocks.warm`).
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from core.logging import get_logger
from core.memory.scope import GROUP_PREFIX, PRIVATE, SHARED

if TYPE_CHECKING:
    from core.memory.vectors import Block

SYNC_ROWS = 5_000  # an audience this small is loaded on the query's path (milliseconds)
WARM_AUDIENCES = 20  # built in the background at start, the largest first
log = get_logger("kith.memory")
Key = tuple[str, int]


def _where(key: str) -> str:
    if key.startswith(GROUP_PREFIX):
        return "m.scope = ?"
    return f"m.person_id = ? AND m.scope IN ('{PRIVATE}', '{SHARED}')"


def load(db: sqlite3.Connection, key: str, dim: int, after: int = 0) -> list[Any]:
    return db.execute(
        "SELECT m.id, m.scope, m.expires_at, v.vec, m.n FROM memories m "
        "JOIN memory_vectors v ON v.n = m.n "
        f"WHERE {_where(key)} AND m.superseded_by IS NULL AND v.dim = ? AND m.n > ? "
        "ORDER BY m.n", (key, dim, after),
    ).fetchall()


def build(rows: list[Any], dim: int) -> Block:
    import numpy as np  # here: ``kith serve`` answers before numpy is imported (0.1 s)

    from core.memory.vectors import Block

    matrix = np.frombuffer(b"".join(r[3] for r in rows), dtype=np.float32)
    return Block.build([r[0] for r in rows], matrix.reshape(len(rows), dim),
                       [r[1] == SHARED for r in rows],
                       [np.inf if r[2] is None else r[2] for r in rows])


class Blocks:
    def __init__(self, db: Callable[[], sqlite3.Connection]) -> None:
        self._db = db
        self._ready: dict[Key, Block] = {}
        self._upto: dict[Key, int] = {}  # the highest memory n each block was read up to
        self._building: dict[Key, asyncio.Task[None]] = {}
        self._one: asyncio.Lock | None = None  # one build at a time: 2 cores are shared

    def clear(self) -> None:
        self._ready.clear()
        for task in self._building.values():
            task.cancel()
        self._building.clear()

    def cached(self, key: Key) -> Block | None:
        return self._ready.get(key)

    def retire(self, memory_id: str) -> None:
        for block in self._ready.values():
            block.dead.add(memory_id)

    def grown(self, key: Key) -> None:
        """The block's tail is long: rebuild it in the background, keep answering."""
        if key not in self._building:
            self._start(key)

    async def get(self, key: Key) -> Block | None:
        """The audience's block; None while a large one is being built."""
        block = self._ready.get(key)
        if block is not None:
            return block
        if key in self._building:
            return None
        if self._size(key[0]) <= SYNC_ROWS:
            rows = load(self._db(), *key)
            self._ready[key] = build(rows, key[1])
            self._upto[key] = rows[-1][4] if rows else 0
            return self._ready[key]
        self._start(key)
        return None

    def _size(self, key: str) -> int:
        from core.memory.terms import audience

        keys = [audience("", key)] if key.startswith(GROUP_PREFIX) else \
            [audience(key, PRIVATE), audience(key, SHARED)]
        row = self._db().execute(
            f"SELECT coalesce(sum(docs), 0) FROM memory_term_stats "
            f"WHERE key IN ({','.join('?' * len(keys))})", keys).fetchone()
        return int(row[0])

    def _start(self, key: Key) -> None:
        task = asyncio.get_running_loop().create_task(self._build(key))
        self._building[key] = task
        task.add_done_callback(lambda t: self._finished(key, t))

    def _finished(self, key: Key, task: asyncio.Task[None]) -> None:
        if self._building.get(key) is task:
            del self._building[key]
        if not task.cancelled() and task.exception() is not None:
            log.warning("vector_index_failed", error=str(task.exception()))

    async def _build(self, key: Key) -> None:
        path = self._db().execute("PRAGMA database_list").fetchone()[2]
        if self._one is None:
            self._one = asyncio.Lock()
        async with self._one:
            rows, block = await asyncio.to_thread(self._load_and_build, path, key)
        upto = rows[-1][4] if rows else 0
        # written while this was built: into the new block's tail (and deletions carried)
        import numpy as np

        for r in load(self._db(), key[0], key[1], upto):
            block.add(r[0], np.frombuffer(r[3], dtype=np.float32).tolist(), r[1] == SHARED,
                      np.inf if r[2] is None else r[2])
            upto = r[4]
        old = self._ready.get(key)
        if old is not None:
            block.dead |= old.dead
        self._ready[key], self._upto[key] = block, upto
        log.info("vector_index_built", rows=len(rows))

    @staticmethod
    def _load_and_build(path: str, key: Key) -> tuple[list[Any], Block]:
        db = sqlite3.connect(path, check_same_thread=False)
        try:
            rows = load(db, *key)
        finally:
            db.close()
        return rows, build(rows, key[1])

    def warm(self) -> None:
        """Build the largest audiences' blocks in the background (called at start)."""
        db = self._db()
        dim_row = db.execute("SELECT dim FROM memory_vectors ORDER BY n DESC LIMIT 1").fetchone()
        if dim_row is None:
            return
        rows = db.execute(
            "SELECT key, docs FROM memory_term_stats WHERE docs > ? ORDER BY docs DESC LIMIT ?",
            (SYNC_ROWS, WARM_AUDIENCES * 2)).fetchall()
        keys: list[str] = []
        for audience, _ in rows:
            key = audience[1:]  # 'p'/'s' + person, 'g' + group scope
            if key not in keys:
                keys.append(key)
        for key in keys[:WARM_AUDIENCES]:
            if (key, dim_row[0]) not in self._ready:
                self.grown((key, dim_row[0]))

    async def ready(self) -> None:
        """Wait for the builds under way (benchmarks and tests)."""
        while self._building:
            await asyncio.gather(*self._building.values(), return_exceptions=True)

    def building(self, key: Key) -> bool:
        return key in self._building
