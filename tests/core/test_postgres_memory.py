"""What the PostgreSQL memory store must do beyond the shared contract: rank like SQLite,
tokenise like SQLite, share no stale state between replicas, hand a lease to one replica,
and delete for real (rows, vectors, text statistics, no dead row versions left)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from core.events import Sender
from core.memory.model import SHARED, LearningKey, LearningWork, Visibility
from core.memory.postgres import PostgresMemoryStore
from core.store.postgres.migrations import MIGRATIONS, migrate
from core.store.postgres.store import PostgresStore
from core.store.sqlite import SQLiteStore
from tests.contract.test_memory_contract import NOW, new
from tests.contract.test_store_contract import KEY, answer, inbound

_VOCABULARY = ("garden gardens tomato lisbon porto chess oboe cat cats running runs café cafe "
               "München über foo_bar ana@example.com x.org sister birthday hiking climbing "
               "piano coffee tea mornings remote python rust book books reading")
WORDS = _VOCABULARY.split(" ")


async def _pool(url: str) -> AsyncConnectionPool[Any]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(
        url, min_size=1, max_size=4, open=False, kwargs={"autocommit": True})
    await pool.open(wait=True)
    return pool


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(pg_url, max_size=4)
    await store.open()
    yield store
    await store.close()


@pytest.fixture
async def replica(pg_url: str, store: PostgresStore) -> AsyncIterator[PostgresMemoryStore]:
    """A second replica's memory store: its own pool on the same database."""
    pool = await _pool(pg_url)
    try:
        yield PostgresMemoryStore(pool)
    finally:
        await pool.close()


async def test_ranking_and_tokens_match_sqlite(store: PostgresStore, tmp_path: Path) -> None:
    lite = SQLiteStore(tmp_path / "kith.db")
    await lite.open()
    rnd = random.Random(7)
    texts = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(2, 10))) for _ in range(300)]
    texts += ["Loves the CAFÉ near München", "Écrit à ana@example.com", "東京タワー is tall"]
    backends = (store, lite)
    people = [await b.person_for("t", Sender("ana", "Ana")) for b in backends]
    for text in texts:
        for backend, person in zip(backends, people, strict=True):
            await backend.memories.add_memory(new(person, text, SHARED), NOW)
    queries = [" ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 4))) for _ in range(40)]
    queries += ["cafe munchen", "Über", "example", "ecrit", "東京タワー", "foo bar", "the of",
                "ran café cafe", "gardens garden", "foo_bar tomato"]
    try:
        for query in queries:
            found = []
            for backend, person in zip(backends, people, strict=True):
                ids = await backend.memories.search_text(Visibility(owner=person), query, NOW, 8)
                found.append([m.text for m in await backend.memories.memories_by_id(ids)])
            assert found[0] == found[1], query
    finally:
        await lite.close()


async def test_replicas_share_vectors_and_deletions_at_once(
    store: PostgresStore, replica: PostgresMemoryStore
) -> None:
    [ana] = [await store.person_for("t", Sender("ana", "Ana"))]
    a = await store.memories.add_memory(new(ana, "Likes figs", vector=[1.0, 0.0]), NOW)
    b = await store.memories.add_memory(new(ana, "Likes dates", vector=[0.0, 1.0]), NOW)
    mine = Visibility(owner=ana)
    assert await replica.search_vectors(mine, [1.0, 0.1], NOW, 5) == [a.id, b.id]
    await store.memories.set_vector(b.id, [1.0, 0.05])  # re-embedded on the first replica
    assert await replica.search_vectors(mine, [1.0, 0.1], NOW, 5) == [b.id, a.id]
    assert await replica.delete_memories(ana, [b.id]) == 1  # forgotten on the other
    assert await store.memories.search_vectors(mine, [1.0, 0.1], NOW, 5) == [a.id]
    assert await store.memories.search_text(mine, "dates", NOW, 5) == []


async def test_one_replica_holds_a_learning_lease(
    store: PostgresStore, replica: PostgresMemoryStore
) -> None:
    person = await store.person_for("test", inbound(0).sender)
    work = LearningWork(LearningKey(KEY, person), "test", "u1", "Ana", True, 0, 0)
    item = inbound(1)
    await answer(store, item)
    await store.memories.queue.note(work, item.id, 100.0)
    queues = [store.memories.queue, replica.queue] * 8
    got = await asyncio.gather(*(q.claim(work.key, 100.0, 60.0) for q in queues))
    assert sum(g is not None for g in got) == 1
    late = await asyncio.gather(*(q.claim(work.key, 161.0, 60.0) for q in queues))
    assert sum(g is not None for g in late) == 1  # the expired lease is taken over, once


async def _rows(pool: AsyncConnectionPool[Any], sql: str) -> tuple[int, ...]:
    async with pool.connection() as conn:
        cur = await conn.execute(sql.encode())
        row = await cur.fetchone()
    assert row is not None
    return tuple(int(x) for x in row)


_COUNTS = ("SELECT (SELECT count(*) FROM memories), (SELECT coalesce(sum(words), 0) FROM "
           "memories), (SELECT sum(docs) FROM memory_text_stats), (SELECT sum(tokens) FROM "
           "memory_text_stats), (SELECT count(*) FROM memory_vectors)")
_DEAD = ("SELECT (SELECT dead_tuple_count FROM pgstattuple('memories')), "
         "(SELECT dead_tuple_count FROM pgstattuple('memory_vectors'))")


async def test_deletion_takes_rows_vectors_and_text_statistics(
    store: PostgresStore, pg_url: str
) -> None:
    ana, bob = [await store.person_for("t", Sender(n, n)) for n in ("ana", "bob")]
    mem = store.memories
    old = await mem.add_memory(new(ana, "Lives in Lisbon", vector=[1.0, 0.0]), NOW)
    cur = await mem.add_memory(new(ana, "Lives in Porto now", replaces=old.id,
                                   vector=[0.5, 0.5]), NOW)
    await mem.add_memory(new(bob, "Plays chess on Sundays", vector=[0.0, 1.0]), NOW)
    await mem.update_memory(bob, (await mem.memories(bob))[0].id, NOW, text="Plays go")
    pool = await _pool(pg_url)
    try:
        async with pool.connection() as conn:
            await conn.execute("CREATE EXTENSION IF NOT EXISTS pgstattuple")
        assert await _rows(pool, _COUNTS) == (3, 3 + 4 + 2, 3, 3 + 4 + 2, 2)  # edit: no vector
        assert await _rows(pool, _DEAD) == (0, 0)  # the edit's old row version is vacuumed
        assert await mem.delete_memories(ana, [cur.id]) == 2
        assert await _rows(pool, _COUNTS) == (1, 2, 1, 2, 0)
        assert await _rows(pool, _DEAD) == (0, 0)
        await mem.delete_all(bob)
        assert await _rows(pool, _COUNTS) == (0, 0, 0, 0, 0)
        assert await _rows(pool, _DEAD) == (0, 0)
    finally:
        await pool.close()


async def test_migrations_apply_once_when_replicas_start_together(pg_url: str) -> None:
    pools = [await _pool(pg_url) for _ in range(3)]

    async def start(pool: AsyncConnectionPool[Any]) -> list[str]:
        async with pool.connection() as conn:
            return await migrate(conn)

    try:
        applied = await asyncio.gather(*(start(p) for p in pools))
    finally:
        for pool in pools:
            await pool.close()
    assert sorted(len(a) for a in applied) == [0, 0, len(MIGRATIONS)]


def test_fulltext_folds_like_unicode61() -> None:
    from core.memory import postgres_fulltext as fulltext

    assert fulltext.tokens("Ana's CAFÉ, naïve München; ana@example.com foo_bar") == [
        "ana", "s", "cafe", "naive", "munchen", "ana", "example", "com", "foo", "bar"]
    assert fulltext.tokens("Привет мир 東京タワー") == ["привет", "мир", "東京タワー"]
    assert fulltext.query_terms("the gardens of foo_bar, Café cafe") == [
        ('"gardens"', "gardens"), ('"foo_bar"', "foo bar"), ('"café"', "cafe"),
        ('"cafe"', "cafe")]
