"""The inbox across replicas, on every Store backend: a conversation's open messages in
arrival order (what a replica taking it over reads), one row per message id whichever
replica recorded it, and one person per sender when two meet them at once."""

from __future__ import annotations

import asyncio

from core.events import Sender
from core.store.base import InboxStatus, Store
from tests.contract.test_delivery_contract import answered
from tests.contract.test_store_contract import KEY, OTHER, answer, inbound


async def test_open_in_is_one_conversations_open_messages_in_arrival_order(
    store: Store,
) -> None:
    ours = [inbound(n) for n in range(6)]
    theirs = [inbound(n, OTHER) for n in range(3)]
    for a, b in zip(ours, theirs + [None] * 3, strict=True):  # interleaved arrivals
        await store.record_inbound(a)
        if b is not None:
            await store.record_inbound(b)
    await answer(store, ours[1])  # done: not open
    assert [i.id for i in await store.open_in(str(KEY))] == [ours[n].id for n in (0, 2, 3, 4, 5)]
    assert await store.open_in(str(OTHER)) == theirs  # every field survives
    assert await store.open_in("kith/test/nobody") == []


async def test_open_in_keeps_answered_and_held_drops_finished(store: Store) -> None:
    first = await answered(store, 1)  # answered, not delivered yet: open
    held, done = inbound(2), inbound(3)
    for item in (held, done):
        await store.record_inbound(item)
    await store.hold(held.id, held.received_at)
    await answer(store, done, status=InboxStatus.DELIVERED)
    assert [i.id for i in await store.open_in(str(KEY))] == [first, held.id]
    await store.mark_delivered(first, ("m1",))
    await store.drop_held(held.id)
    assert await store.open_in(str(KEY)) == []


async def test_a_message_recorded_by_two_replicas_is_one(store: Store, twin: Store) -> None:
    item = inbound(1)
    results = await asyncio.gather(store.record_inbound(item), twin.record_inbound(item))
    assert sorted(results) == [False, True]
    assert await twin.open_in(str(KEY)) == [item] == await store.pending()


async def test_two_replicas_meeting_a_new_sender_make_one_person(
    store: Store, twin: Store,
) -> None:
    senders = [Sender(f"new-{n}", f"New {n}") for n in range(10)]
    both = await asyncio.gather(*(replica.person_for("test", sender)
                                  for sender in senders for replica in (store, twin)))
    ours, theirs = both[0::2], both[1::2]
    assert ours == theirs and len(set(ours)) == 10
    assert [await twin.person_for("test", s) for s in senders] == ours
