"""The vector block: exact below the threshold, IVF above it, tail and dead rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from core.events import Sender
from core.memory import vectors
from core.memory.model import MemoryKind, NewMemory, Source, Visibility
from core.memory.vectors import Block
from core.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 26, tzinfo=UTC)


def clustered(n: int, dim: int = 32, clusters: int = 40, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centres = rng.standard_normal((clusters, dim))
    rows = centres[rng.integers(0, clusters, n)] + 0.3 * rng.standard_normal((n, dim))
    return rows.astype(np.float32)


def test_the_ivf_index_finds_what_exact_search_finds(monkeypatch: pytest.MonkeyPatch) -> None:
    data = clustered(3000)
    ids = [f"m{i}" for i in range(len(data))]
    exact = Block.build(ids, data, [True] * len(ids), [np.inf] * len(ids))
    monkeypatch.setattr(vectors, "IVF_MIN_ROWS", 1000)
    ivf = Block.build(ids, data, [True] * len(ids), [np.inf] * len(ids))
    assert exact.centroids is None and ivf.centroids is not None
    queries = clustered(50, seed=2)
    overlap = []
    for q in vectors.unit(queries):
        want = {i for _, i in exact.search(q, 0.0, False, 10)}
        got = {i for _, i in ivf.search(q, 0.0, False, 10)}
        overlap.append(len(want & got) / 10)
    assert np.mean(overlap) >= 0.9


def test_masks_tail_and_dead_rows() -> None:
    rows = np.eye(4, dtype=np.float32)
    block = Block.build(["a", "b", "c", "d"], rows, [True, False, True, True],
                        [np.inf, np.inf, 5.0, np.inf])
    q = vectors.unit(np.array([1, 1, 1, 0.5], dtype=np.float32))
    assert [i for _, i in block.search(q, 10.0, False, 9)] == ["a", "b", "d"]  # c expired
    assert [i for _, i in block.search(q, 10.0, True, 9)] == ["a", "d"]  # b is not shared
    block.add("e", [1, 1, 1, 1], True, np.inf)
    block.dead.add("a")
    assert [i for _, i in block.search(q, 10.0, True, 2)] == ["e", "d"]


async def test_the_store_keeps_a_cached_block_current_without_rebuilding(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    await store.open()
    person = await store.person_for("test", Sender("ana"))
    mem, vis = store.memories, Visibility(owner=person)

    async def add(text: str, vector: list[float], replaces: str | None = None) -> str:
        made = await mem.add_memory(NewMemory(
            person, text, MemoryKind.FACT, Source("t:1", "test", "ana", NOW), 0.9,
            replaces=replaces, vector=vector), NOW)
        return made.id

    first = await add("first", [1.0, 0.0])
    assert await mem.search_vectors(vis, [1.0, 0.0], NOW, 5) == [first]  # block now cached
    block = mem._blocks.cached((person, 2))
    second = await add("second", [0.9, 0.1], replaces=first)
    third = await add("third", [0.0, 1.0])
    assert mem._blocks.cached((person, 2)) is block  # updated in place
    assert await mem.search_vectors(vis, [1.0, 0.0], NOW, 5) == [second, third]
    await store.close()
