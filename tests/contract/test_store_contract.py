from __future__ import annotations

from datetime import UTC, datetime

from core.events import Addressed, Attachment, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.provenance import Origin
from core.store.base import ConversationState, InboxStatus, Store, TurnRecord

KEY = ConversationKey("kith", "test", "chat-1")
OTHER = ConversationKey("kith", "test", "chat-2")
ANA = Sender("u1", "Ana")


def inbound(n: int, key: ConversationKey = KEY, text: str = "hi") -> Inbound:
    return Inbound(id=f"test:{key.chat_id}:{n}", conversation=key, sender=ANA, text=text,
                   received_at=datetime(2026, 11, 26, 9, n % 60, tzinfo=UTC),
                   attachments=(Attachment("image", "file-1", "a.png", "image/png", 12),),
                   reply_to="m0", addressed=Addressed.MENTION, trust=Trust.ALLOWED,
                   chat=ChatKind.GROUP)


async def answer(store: Store, item: Inbound, reply: str = "hello",
                 status: InboxStatus = InboxStatus.DONE) -> None:
    person = await store.person_for(item.conversation.channel, item.sender)
    await store.finish_turn(TurnRecord(item, person, item.text, reply, 1, 1), status, fence=None)


async def test_record_is_idempotent_and_round_trips(store: Store) -> None:
    item = inbound(1)
    assert await store.record_inbound(item) is True
    assert await store.record_inbound(item) is False
    assert await store.pending() == [item]  # every field survives, raw excluded
    assert await store.inbox_status(item.id) is InboxStatus.PENDING
    assert await store.inbox_status("nope") is None


async def test_pending_keeps_arrival_order_and_drops_answered(store: Store) -> None:
    items = [inbound(n) for n in range(5)]
    for item in items:
        await store.record_inbound(item)
    await answer(store, items[1])
    await answer(store, items[3], status=InboxStatus.FAILED)
    assert [i.id for i in await store.pending()] == [items[n].id for n in (0, 2, 4)]


async def test_history_is_per_conversation_ordered_and_limited(store: Store) -> None:
    for n in range(6):
        item = inbound(n, KEY if n % 2 else OTHER, text=f"q{n}")
        await store.record_inbound(item)
        await answer(store, item, reply=f"a{n}")
    turns = await store.history(KEY, 0, 100)
    assert [t.text for t in turns] == ["q1", "a1", "q3", "a3", "q5", "a5"]
    assert [t.role for t in turns[:2]] == ["user", "assistant"] and turns[0].author == "Ana"
    last = await store.history(KEY, 0, 2)
    assert [t.text for t in last] == ["q5", "a5"]
    after = await store.history(KEY, turns[1].seq, 100)
    assert [t.text for t in after] == ["q3", "a3", "q5", "a5"]
    state = await store.conversation(KEY)
    assert await store.turn_count(KEY) == 6 and state.epoch == 0


async def test_summary_moves_forward_only(store: Store) -> None:
    item = inbound(1)
    await store.record_inbound(item)
    await answer(store, item)
    await store.set_summary(KEY, 0, "first", 10, Origin.KITH)
    await store.set_summary(KEY, 0, "stale", 5, Origin.KITH)
    state = await store.conversation(KEY)
    assert (state.summary, state.summary_upto) == ("first", 10)


async def test_reset_starts_a_new_epoch(store: Store) -> None:
    item = inbound(1)
    await store.record_inbound(item)
    await answer(store, item)
    await store.set_summary(KEY, 0, "old", 1, Origin.KITH)
    await store.reset(KEY)
    state = await store.conversation(KEY)
    assert (state.epoch, state.summary, await store.turn_count(KEY)) == (1, "", 0)
    assert await store.history(KEY, 0, 10) == []
    await store.set_summary(KEY, 0, "late summary of the old epoch", 99, Origin.KITH)
    assert (await store.conversation(KEY)).summary == ""


async def test_forget_deletes_only_that_conversation(store: Store) -> None:
    for n, key in enumerate((KEY, OTHER)):
        item = inbound(n, key, text=f"secret {key.chat_id}")
        await store.record_inbound(item)
        await answer(store, item)
    assert await store.forget(KEY) == 2
    assert await store.history(KEY, 0, 10) == []
    assert len(await store.history(OTHER, 0, 10)) == 2


async def test_people_and_preferences(store: Store) -> None:
    person = await store.person_for("test", ANA)
    assert await store.person_for("test", Sender("u1", "Ana R.")) == person
    assert await store.person_for("other", ANA) != person
    await store.set_preference(person, "tone", "brief")
    await store.set_preference(person, "name", "Ana")
    await store.set_preference(person, "tone", "warm")
    assert await store.preferences(person) == {"name": "Ana", "tone": "warm"}
    await store.set_preference(person, "tone", None)
    assert await store.preferences(person) == {"name": "Ana"}


async def test_pairing_codes_are_stable_single_use_and_per_bot(store: Store) -> None:
    stranger = Sender("u9", "Stranger")
    first = await store.pairing("kith", "test", stranger)
    assert first.new and not first.approved and len(first.code) == 6
    again = await store.pairing("kith", "test", stranger)
    assert (again.code, again.new) == (first.code, False)
    assert await store.approve("other-bot", first.code) is None
    approved = await store.approve("kith", first.code.lower())
    assert approved is not None and approved.platform_id == "u9"
    assert await store.approve("kith", first.code) is None  # used
    assert (await store.pairing("kith", "test", stranger)).approved


async def test_healthy(store: Store) -> None:
    assert await store.healthy()


async def test_command_exchanges_are_shown_but_never_prompted_or_counted(store: Store) -> None:
    await store.record_inbound(chat := inbound(1, text="hello"))
    await answer(store, chat, "hi there")
    await store.record_inbound(cmd := inbound(2, text="/prefs"))
    person = await store.person_for(cmd.conversation.channel, cmd.sender)
    await store.finish_turn(TurnRecord(cmd, person, "/prefs", "Your preferences: none",
                                       command=True), InboxStatus.DONE, fence=None)
    assert [t.text for t in await store.history(KEY, 0, 10)] == ["hello", "hi there"]
    assert await store.turn_count(KEY) == 2
    shown = await store.transcript(KEY, 10)
    assert [(t.role, t.text, t.command) for t in shown] == [
        ("user", "hello", False), ("assistant", "hi there", False),
        ("user", "/prefs", True), ("assistant", "Your preferences: none", True)]
    assert {t.inbound_id for t in shown[2:]} == {cmd.id}
    assert [t.text for t in await store.transcript(KEY, 1)] == ["Your preferences: none"]
    assert await store.forget(KEY) == 2  # messages; the command exchange goes too
    assert await store.transcript(KEY, 10) == []


async def test_identify_is_the_person_and_their_preferences_in_one_read(store: Store) -> None:
    new = await store.identify("test", Sender("u9", "Zoe"))
    assert new.preferences == {}
    assert await store.person_for("test", Sender("u9", "Zoe")) == new.id
    await store.set_preference(new.id, "timezone", "Europe/Lisbon")
    await store.set_preference(new.id, "name", "Zo")
    again = await store.identify("test", Sender("u9", "Zoe B"))  # a new display name
    assert again.id == new.id
    assert again.preferences == {"name": "Zo", "timezone": "Europe/Lisbon"}
    assert again.preferences == await store.preferences(new.id)
    assert (await store.identify("other", Sender("u9", "Zoe"))).id != new.id


async def test_recent_is_the_state_and_the_turns_after_its_summary(store: Store) -> None:
    assert await store.recent(KEY, 10) == (ConversationState(), [])
    for n in range(1, 5):
        await answer(store, inbound(n, text=f"m{n}"), f"r{n}")
    state, turns = await store.recent(KEY, 10)
    assert state == await store.conversation(KEY)
    assert turns == await store.history(KEY, 0, 10)
    assert [t.text for t in turns] == ["m1", "r1", "m2", "r2", "m3", "r3", "m4", "r4"]
    upto = turns[1].seq
    await store.set_summary(KEY, 0, "Ana said m1.", upto, Origin.QUOTE)
    state, turns = await store.recent(KEY, 3)
    assert state == ConversationState(0, "Ana said m1.", upto, Origin.QUOTE)
    assert [t.text for t in turns] == ["r3", "m4", "r4"]  # the newest 3 after the summary
    assert turns == await store.history(KEY, state.summary_upto, 3)
    await store.reset(KEY)
    assert await store.recent(KEY, 10) == (await store.conversation(KEY), [])
