"""Delivery state, on every Store backend: pending → answered → delivered | undeliverable,
held while no model answers, and what stays open after a restart."""

from __future__ import annotations

from datetime import UTC, datetime

from core.store.base import InboxStatus, Store, TurnRecord
from tests.contract.test_store_contract import inbound


async def answered(store: Store, n: int, text: str = "the answer") -> str:
    item = inbound(n)
    await store.record_inbound(item)
    person = await store.person_for(item.conversation.channel, item.sender)
    await store.finish_turn(TurnRecord(item, person, item.text, text, 1, 1, answer=text,
                                       answer_status="ok"), InboxStatus.ANSWERED, fence=None)
    return item.id


async def test_an_answer_is_kept_until_the_platform_takes_it(store: Store) -> None:
    message_id = await answered(store, 1)
    state = await store.delivery(message_id)
    assert state is not None and state.status is InboxStatus.ANSWERED
    assert (state.reply, state.reply_status, state.platform_ids) == ("the answer", "ok", ())
    assert state.answered_at is not None and state.answered_at.tzinfo is not None
    await store.record_sent(message_id, ("m1",))  # the first send returned
    assert [i.id for i in await store.pending()] == [message_id]  # still open: resumes
    assert (await store.delivery(message_id)).platform_ids == ("m1",)  # type: ignore[union-attr]
    await store.mark_delivered(message_id, ("m1", "m2"))
    state = await store.delivery(message_id)
    assert state is not None and state.status is InboxStatus.DELIVERED
    assert state.platform_ids == ("m1", "m2") and await store.pending() == []
    assert await store.delivery("nope") is None


async def test_undeliverable_is_final(store: Store) -> None:
    message_id = await answered(store, 2)
    await store.mark_undeliverable(message_id)
    assert await store.inbox_status(message_id) is InboxStatus.UNDELIVERABLE
    assert await store.pending() == []


async def test_held_stays_open_keeps_its_start_and_forgets_the_notice(store: Store) -> None:
    item = inbound(3)
    await store.record_inbound(item)
    await store.record_sent(item.id, ("notice-1",))  # the "I've kept it" notice
    first = datetime(2026, 12, 1, 8, 0, tzinfo=UTC)
    await store.hold(item.id, first)
    await store.hold(item.id, datetime(2026, 12, 1, 8, 5, tzinfo=UTC))  # a later try
    state = await store.delivery(item.id)
    assert state is not None and state.status is InboxStatus.HELD
    assert state.held_since == first and state.platform_ids == ()
    assert [i.id for i in await store.pending()] == [item.id]
    await store.drop_held(item.id)
    assert await store.inbox_status(item.id) is InboxStatus.FAILED
    assert await store.pending() == []
