"""The vector index of a large person is built in the background: the first hybrid recall
after a start answers from the lexical lists instead of waiting for the build."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from core.events import Sender
from core.memory import sqlite_blocks
from core.memory.model import MemoryKind, NewMemory, Source, Visibility
from core.memory.recall import RecallQuery, recall
from core.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 26, tzinfo=UTC)
DIM = 8
SIZE = 100_000


async def test_first_hybrid_recall_after_start_does_not_wait_for_the_index(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "k.db"
    store = SQLiteStore(path, synchronous="OFF")
    await store.open()
    ana = await store.person_for("test", Sender("ana"))
    db = store.db
    with db:
        db.execute("BEGIN")
        db.execute(
            "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
            "INSERT INTO memories (id, person_id, text, kind, scope, confidence, "
            "source_inbound, source_channel, source_sender, source_at, created_at, "
            "updated_at) SELECT 'f' || i, ?, 'Went for a walk on day ' || i, 'fact', "
            "'private', 0.9, 'x', 'test', 'ana', ?, ?, ? FROM s",
            (SIZE, ana, NOW.isoformat(), NOW.isoformat(), NOW.isoformat()))
        rng = np.random.default_rng(1)
        base = rng.standard_normal((SIZE, DIM)).astype(np.float32)
        base[:, 0] = -np.abs(base[:, 0])  # the fill points away from the query
        db.executemany("INSERT INTO memory_vectors (n, dim, vec) VALUES (?, ?, ?)",
                       ((i + 1, DIM, base[i].tobytes()) for i in range(SIZE)))
    target = await store.memories.add_memory(NewMemory(
        ana, "Her violin teacher is Ines", MemoryKind.FACT, Source("t", "test", "ana", NOW),
        0.9, vector=[1.0] + [0.0] * (DIM - 1)), NOW)
    await store.close()

    gate = threading.Event()
    build = sqlite_blocks.Blocks._load_and_build

    def held(path: str, key: sqlite_blocks.Key) -> tuple[list[Any], Any]:
        assert gate.wait(120), "the test never opened the gate"
        return build(path, key)

    monkeypatch.setattr(sqlite_blocks.Blocks, "_load_and_build", staticmethod(held))
    store = SQLiteStore(path)
    await store.open()  # starts building the large person's index in the background
    mem, vis = store.memories, Visibility(owner=ana)
    query = RecallQuery(vis, "who teaches music lessons?", NOW, [1.0] + [0.0] * (DIM - 1))
    try:
        assert mem._blocks.building((ana, DIM))
        first = await recall(mem, query)  # no word in common: only the vector would find it
        assert first == []
        assert mem._blocks.building((ana, DIM)), "the query answered before the build ended"
        lexical = await recall(mem, RecallQuery(vis, "violin teacher", NOW,
                                                [1.0] + [0.0] * (DIM - 1)))
        assert [m.id for m in lexical][:1] == [target.id]
    finally:
        gate.set()
    await mem.ready()
    assert [m.id for m in await recall(mem, query)][:1] == [target.id]
    await store.close()
