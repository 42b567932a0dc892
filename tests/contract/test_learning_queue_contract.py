"""The learning queue contract (``store.memories.queue``), run against every Store backend:
durable extraction work per conversation and person, claimed with a lease."""

from __future__ import annotations

from core.memory.model import LearningKey, LearningWork
from core.store.base import Store
from tests.contract.test_store_contract import KEY, answer, inbound


async def work(store: Store) -> LearningWork:
    person = await store.person_for("test", inbound(0).sender)
    return LearningWork(LearningKey(KEY, person), "test", "u1", "Ana", True, 0, 0)


async def test_noted_turns_are_read_back_from_the_cursor(
    store: Store,
) -> None:
    w = await work(store)
    queue = store.memories.queue
    await answer(store, inbound(1, text="before learning was counted"))
    for n in (2, 3):
        item = inbound(n, text=f"said {n}")
        await answer(store, item)
        assert await queue.note(w, item.id, 100.0) == n - 1
    [waiting] = await queue.waiting()
    assert waiting.key == w.key and waiting.pending == 2 and waiting.is_group
    said = await queue.said_since(w.key, waiting.upto_seq, 10)
    assert [s.text for s in said] == ["said 2", "said 3"]  # the cursor starts at the first
    assert [s.inbound_id for s in said] == [inbound(2).id, inbound(3).id]


async def test_a_claim_is_exclusive_until_released_or_expired(store: Store) -> None:
    w = await work(store)
    queue = store.memories.queue
    item = inbound(1)
    await answer(store, item)
    await queue.note(w, item.id, 100.0)
    assert await queue.claim(w.key, 100.0, 60.0) is not None
    assert await queue.claim(w.key, 130.0, 60.0) is None  # another worker holds it
    assert await queue.claim(w.key, 161.0, 60.0) is not None  # its lease ran out
    assert await queue.release(w.key, failed=True) == 1
    assert (await queue.claim(w.key, 162.0, 60.0)) is not None


async def test_advance_moves_the_cursor_and_keeps_turns_noted_meanwhile(store: Store) -> None:
    w = await work(store)
    queue = store.memories.queue
    for n in (1, 2):
        item = inbound(n)
        await answer(store, item)
        await queue.note(w, item.id, 100.0)
    claimed = await queue.claim(w.key, 100.0, 60.0)
    assert claimed is not None and claimed.pending == 2
    said = await queue.said_since(w.key, claimed.upto_seq, 10)
    late = inbound(3, text="late")
    await answer(store, late)
    await queue.note(w, late.id, 101.0)  # while the extraction ran
    await queue.advance(w.key, said[-1].seq, claimed.pending)
    await queue.release(w.key, failed=False)
    [waiting] = await queue.waiting()
    assert waiting.pending == 1 and waiting.failures == 0
    assert [s.text for s in await queue.said_since(w.key, waiting.upto_seq, 10)] == ["late"]
    await queue.advance(w.key, said[-1].seq + 10, 1)
    assert await queue.waiting() == []
