"""The prompt budget is packed: a memory too long for what is left of the budget is passed
over, and the shorter ones ranked after it still reach the prompt (up to ``k``)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.events import Sender
from core.ids import PersonId
from core.memory.model import Memory, MemoryKind, NewMemory, Source, Visibility
from core.memory.recall import RecallQuery, memory_line, packed, ranked, recall
from core.store.sqlite import SQLiteStore
from core.tokens import estimate_tokens

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def memory(n: int, text: str, expires: datetime | None = None) -> Memory:
    return Memory(f"m{n}", PersonId("p"), text, MemoryKind.FACT,
                  Source("in", "chat", "u", NOW - timedelta(days=1)), 0.9, expires_at=expires)


def cost(m: Memory) -> int:
    return estimate_tokens(memory_line(m)) + 1


def test_a_long_memory_is_passed_over_and_the_shorter_ones_after_it_fit() -> None:
    short = [memory(i, f"Short fact number {i}") for i in range(6)]
    long = memory(99, "A very long memory about the garden " * 20)
    found = [short[0], long, *short[1:]]
    budget = cost(short[0]) + 3 * cost(short[1])  # the long one never fits
    query = RecallQuery(Visibility(owner=PersonId("p")), "garden", NOW, k=8,
                        budget_tokens=budget)
    assert [m.id for m in packed(found, query)] == ["m0", "m1", "m2", "m3"]


def test_packing_stops_at_k_and_skips_what_is_no_longer_true() -> None:
    gone = memory(7, "Was in Lisbon", expires=NOW - timedelta(hours=1))
    found = [memory(0, "a fact"), gone, *(memory(i, f"fact {i}") for i in range(1, 9))]
    query = RecallQuery(Visibility(owner=PersonId("p")), "fact", NOW, k=3, budget_tokens=400)
    assert [m.id for m in packed(found, query)] == ["m0", "m1", "m2"]


async def test_recall_fills_the_budget_a_long_match_leaves(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "k.db")
    await store.open()
    ana = await store.person_for("test", Sender("ana", "Ana"))
    mem = store.memories
    texts = ["The concert was on Friday", "The concert hall is " + "very large and " * 40,
             "The concert ticket cost 40 euros", "The concert ended late"]
    for day, text in enumerate(texts):
        at = NOW - timedelta(days=10 - day)
        await mem.add_memory(NewMemory(ana, text, MemoryKind.FACT,
                                       Source(f"in{day}", "chat", "u", at), 0.9), at)
    query = RecallQuery(Visibility(owner=ana), "concert hall", NOW, k=8, budget_tokens=60)
    order = [m.text for m in await mem.memories_by_id(await ranked(mem, query))]
    assert order[0] == texts[1]  # the best match is too long for the budget ...
    got = [m.text for m in await recall(mem, query)]
    assert sorted(got) == sorted(texts[:1] + texts[2:])  # ... the three after it all fit
    await store.close()
