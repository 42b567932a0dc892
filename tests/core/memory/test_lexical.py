"""BM25 query pruning: common words are dropped while rarer ones fit the postings budget."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from core.events import Sender
from core.memory import lexical as memory_store
from core.memory.model import MemoryKind, NewMemory, Source, Visibility
from core.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 26, tzinfo=UTC)


async def test_pruning_keeps_rare_terms_and_bounds_common_ones(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(memory_store, "POSTINGS_BUDGET", 5)
    store = SQLiteStore(tmp_path / "k.db")
    await store.open()
    person = await store.person_for("test", Sender("ana"))
    ids = []
    for i in range(40):
        text = f"Weekend walk number {i}" + (" with the heron" if i in (3, 30) else "")
        made = await store.memories.add_memory(NewMemory(
            person, text, MemoryKind.FACT, Source("t", "test", "ana", NOW), 0.9), NOW)
        ids.append(made.id)
    vis = Visibility(owner=person)
    assert set(await store.memories.search_text(vis, "weekend heron walk", NOW, 5)) == \
        {ids[3], ids[30]}
    common = await store.memories.search_text(vis, "walk", NOW, 50)
    assert set(common) == set(ids[35:])  # only the newest budget postings are ranked
    await store.close()
