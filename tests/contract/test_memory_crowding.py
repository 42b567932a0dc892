"""One person's recall never pays for another's data: person A's planted facts come back in
the same ranking before and after person B stores 50,000 memories in A's words."""

from __future__ import annotations

from datetime import UTC, datetime

from core.events import Sender
from core.memory import lexical
from core.memory.model import PRIVATE, SHARED, MemoryKind, NewMemory, Source, Visibility
from core.memory.recall import RecallQuery, recall
from core.store.base import Store
from core.store.sqlite import SQLiteStore

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
PLANTED = [
    "Ana's dog Biscuit loves the beach at Cascais",
    "Ana's sister Marta lives in Porto near the old garden",
    "Ana is allergic to kiwi and walks the dog every morning",
    "Ana's garden has tomatoes, basil and a lemon tree",
    "Ana booked a dentist appointment in Porto for the dog's vet friend",
]
QUERIES = [
    "where does my dog Biscuit like to go?",
    "who lives in Porto?",
    "what grows in my garden?",
    "dog",  # crowded for A alone (more postings than the budget): her newest ones
    "morning walks with the dog in the garden",
    "kiwi allergy",
]
# B's memories: A's vocabulary, including her rare words
FILL = ("'Bob''s dog ran in the garden near Porto with Biscuit at Cascais beach, kiwi ' "
        "|| mod(i, 97) || ' morning walk ' || i")


async def _fill_other(store: Store, person: str, count: int) -> None:
    if isinstance(store, SQLiteStore):
        with store.db:
            store.db.execute("BEGIN")
            store.db.execute(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < ?) "
                "INSERT INTO memories (id, person_id, text, kind, scope, confidence, "
                "source_inbound, source_channel, source_sender, source_at, created_at, "
                f"updated_at) SELECT 'b' || i, ?, {FILL}, 'fact', ?, 0.9, 'x', 'test', 'bob', "
                "?, ?, ? FROM s", (count, person, PRIVATE, NOW.isoformat(), NOW.isoformat(),
                                   NOW.isoformat()))
        return
    from core.store.postgres.store import PostgresStore

    assert isinstance(store, PostgresStore)
    async with store._pool.connection() as conn:
        await conn.execute(
            "INSERT INTO memories (id, person_id, text, kind, scope, confidence, "
            "source_inbound, source_channel, source_sender, source_at, created_at, "
            "updated_at, tsv, words) SELECT 'b' || i, %(p)s, t, 'fact', %(s)s, 0.9, 'x', "
            "'test', 'bob', %(now)s, %(now)s, %(now)s, to_tsvector('kith_memory', lower(t)), "
            "array_length(regexp_split_to_array(t, '[^a-zA-Z0-9]+'), 1) "
            f"FROM (SELECT i, {FILL} AS t FROM generate_series(1, %(n)s) i) s",
            {"p": person, "s": PRIVATE, "now": NOW, "n": count})


async def _rankings(store: Store, vis: Visibility) -> list[list[str]]:
    out = [await store.memories.search_text(vis, q, NOW, 30) for q in QUERIES]
    out += [[m.id for m in await recall(store.memories, RecallQuery(vis, q, NOW))]
            for q in QUERIES]
    return out


async def test_another_persons_memories_change_no_ranking(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    bob = await store.person_for("test", Sender("bob", "Bob"))
    source = Source("t", "test", "ana", NOW)
    planted = []
    count = lexical.POSTINGS_BUDGET + 100  # more dog memories than the postings budget
    for i in range(count):
        text = (f"Ana walked the dog past the garden, day {i}" if i % 3 else
                f"Ana talked about Porto and her morning coffee {i}")
        await store.memories.add_memory(
            NewMemory(ana, text, MemoryKind.FACT, source, 0.9), NOW)
        if i % (count // 5) == 0:
            fact = PLANTED[i // (count // 5)]
            planted.append((await store.memories.add_memory(NewMemory(
                ana, fact, MemoryKind.FACT, source, 0.9, scope=SHARED), NOW)).id)
    vis = Visibility(owner=ana)
    before = await _rankings(store, vis)
    assert before[0][0] == planted[0]  # the rare words find Biscuit at Cascais first
    assert before[5][0] == planted[2]  # kiwi
    assert all(before), "every query finds something of Ana's"
    await _fill_other(store, bob, 50_000)
    assert len(await store.memories.search_text(Visibility(owner=bob), "Biscuit", NOW, 5)) == 5
    assert await _rankings(store, vis) == before
