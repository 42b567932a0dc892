"""Every memory gets its vector when embeddings are configured, whatever stored it: the
remember tool, an explicit "remember that", extraction, a /memory edit, a link that merges
another person's memories, and memories stored before embeddings were turned on.

A property over sequences of those writes on SQLite (hypothesis), and every path once on
each backend: after the background fill, each memory's vector is the embedding of its
current words."""

from __future__ import annotations

import asyncio
import tempfile
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import controls
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.llm import ChatModel
from core.memory.extract import ExtractedItem
from core.memory.model import LearningKey, LearningWork, MemoryKind, NewMemory, Said, Source
from core.memory.service import MemoryService, MemorySettings
from core.store.base import Store
from core.store.sqlite import SQLiteStore
from core.tools.base import ToolContext
from core.tools.memory import Fact, remember

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PATHS = ("tool", "explicit", "extract", "edit", "link", "before")


class WordEmbedder:
    """A deterministic embedding of the words (in-process; the model server's job)."""

    def __init__(self) -> None:
        self.calls = 0

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        self.calls += 1
        return [vector(t) for t in texts]


def vector(text: str) -> list[float]:
    return [float(len(text)), float(sum(map(ord, text)) % 97), 1.0]


def inbound(user: str, text: str) -> Inbound:
    return Inbound(
        id=f"test:kith:dm-{user}:{abs(hash(text))}", conversation=ConversationKey(
            "kith", "test", f"dm-{user}"), sender=Sender(user, user), text=text,
        received_at=NOW, addressed=Addressed.DIRECT, trust=Trust.OWNER, chat=ChatKind.DIRECT)


async def write(store: Store, path: str, n: int) -> None:
    """Store one memory the way ``path`` does (embeddings on unless ``before``)."""
    on = MemoryService(store.memories, cast(ChatModel, None), lambda: NOW,
                       MemorySettings(embed=True, learn=True), embedder=WordEmbedder())
    ana = await store.person_for("test", Sender("ana", "Ana"))
    text = f"Fact number {n} about the {path} path"
    if path == "tool":
        await remember(ToolContext(inbound("ana", text), ana, store, lambda: NOW, "UTC",
                                   "default"), Fact(fact=text))
    elif path == "explicit":
        assert await on.remember_now(inbound("ana", f"remember that {text}"), ana)
    elif path == "extract":
        key = LearningKey(ConversationKey("kith", "test", "dm-ana"), ana)
        work = LearningWork(key, "test", "ana", "Ana", False, 0, 0)
        said = Said(1, f"x{n}", text, NOW)
        assert await on._apply(ExtractedItem(decision="new", text=text), work, said, {})
    elif path == "edit":
        mine = await store.memories.memories(ana)
        if not mine:
            mine = [await store.memories.add_memory(NewMemory(
                ana, text, MemoryKind.FACT, Source("s", "test", "ana", NOW), 0.9,
                vector=vector(text)), NOW)]
        assert await controls.edit_memory(store, ana, mine[-1].id, f"{text} (edited)", NOW)
    elif path == "link":
        other = await store.person_for(f"other{n}", Sender(f"ana-{n}", "Ana"))
        await store.memories.add_memory(NewMemory(
            other, text, MemoryKind.FACT, Source("s", "other", "ana", NOW), 0.9), NOW)
        code = await store.memories.create_link_code(ana, NOW, 600)
        assert (await store.memories.redeem_link_code(code, other, NOW)).person_id
    else:  # stored while embeddings were off
        off = MemoryService(store.memories, cast(ChatModel, None), lambda: NOW,
                            MemorySettings(embed=False, learn=True), embedder=WordEmbedder())
        assert await off.remember_now(inbound("ana", f"remember that {text}"), ana)


async def every_memory_has_its_vector(store: Store) -> None:
    service = MemoryService(store.memories, cast(ChatModel, None), lambda: NOW,
                            MemorySettings(embed=True, learn=True), embedder=WordEmbedder())
    service.vectors.kick()  # as at start and at every turn
    await service.vectors.idle()
    assert await store.memories.unembedded(10) == []
    for person in {m for m in await _people(store)}:
        for memory in await store.memories.memories(person, history=True):
            got = await store.memories.search_vectors(
                _owner(person), vector(memory.text), NOW, 50) if memory.superseded_by is None \
                else [memory.id]
            assert memory.id in got, memory.text
            assert await _vector_of(store, memory.id) == vector(memory.text), memory.text


async def _people(store: Store) -> list[str]:
    return [await store.person_for("test", Sender("ana", "Ana"))]


def _owner(person: str) -> Any:
    from core.memory.model import Visibility

    return Visibility(owner=person)


async def _vector_of(store: Store, memory_id: str) -> list[float] | None:
    if isinstance(store, SQLiteStore):
        import numpy as np

        row = store.db.execute("SELECT v.vec FROM memory_vectors v JOIN memories m "
                               "ON m.n = v.n WHERE m.id = ?", (memory_id,)).fetchone()
        return None if row is None else [float(x) for x in np.frombuffer(row[0], np.float32)]
    from core.store.postgres.store import PostgresStore

    assert isinstance(store, PostgresStore)
    async with store._pool.connection() as conn:
        cur = await conn.execute("SELECT v.vec::text FROM memory_vectors v JOIN memories m "
                                 "ON m.n = v.n WHERE m.id = %s", (memory_id,))
        row = await cur.fetchone()
    return None if row is None else [float(x) for x in str(row[0]).strip("[]").split(",")]


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(PATHS), min_size=1, max_size=6))
def test_any_sequence_of_writes_leaves_no_memory_without_its_vector(paths: list[str]) -> None:
    async def scenario() -> None:
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteStore(Path(tmp) / "k.db")
            await store.open()
            try:
                for n, path in enumerate(paths):
                    await write(store, path, n)
                await every_memory_has_its_vector(store)
            finally:
                await store.close()

    asyncio.run(scenario())


async def test_every_write_path_gets_a_vector(store: Store) -> None:
    for n, path in enumerate(PATHS):
        await write(store, path, n)
    await every_memory_has_its_vector(store)
