"""The MemoryStore contract (``store.memories``), run against every Store backend."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.memory.model import (
    PRIVATE,
    SHARED,
    Group,
    LinkRefusal,
    MemoryKind,
    MemoryScope,
    NewMemory,
    Source,
    Visibility,
)
from core.store.base import InboxStatus, Store, TurnRecord

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
GROUP = Group(ConversationKey("kith", "test", "g1"))


def new(person: str, text: str, scope: MemoryScope = PRIVATE, **kw: object) -> NewMemory:
    return NewMemory(person, text, MemoryKind.FACT, Source("test:1", "test", "u", NOW), 0.9,
                     scope=scope, **kw)  # type: ignore[arg-type]


async def people(store: Store, *names: str) -> list[str]:
    return [await store.person_for("test", Sender(n, n)) for n in names]


async def test_add_and_read_back_with_source_scope_and_expiry(store: Store) -> None:
    [ana] = await people(store, "ana")
    until = NOW + timedelta(days=2)
    made = await store.memories.add_memory(new(ana, "Is in Lisbon", expires_at=until), NOW)
    assert made.person_id == ana and made.text == "Is in Lisbon" and made.scope == PRIVATE
    assert made.source == Source("test:1", "test", "u", NOW) and made.expires_at == until
    assert await store.memories.memory(made.id) == made
    assert await store.memories.memories(ana) == [made]
    assert await store.memories.memory("m00000000") is None


async def test_search_respects_visibility_expiry_and_supersession(store: Store) -> None:
    ana, bob = await people(store, "ana", "bob")
    mem = store.memories
    private = await mem.add_memory(new(ana, "Ana's quiet garden secret"), NOW)
    shared = await mem.add_memory(new(ana, "Ana's garden has tomatoes", SHARED), NOW)
    group = await mem.add_memory(new(bob, "The group garden meets Sunday", GROUP), NOW)
    await mem.add_memory(new(ana, "Garden party soon", expires_at=NOW - timedelta(1)), NOW)
    old = await mem.add_memory(new(bob, "Bob's garden is in Lisbon"), NOW)
    newer = await mem.add_memory(new(bob, "Bob's garden is in Porto", replaces=old.id), NOW)

    async def found(v: Visibility) -> set[str]:
        return set(await mem.search_text(v, "garden", NOW, 20))

    assert await found(Visibility(owner=ana)) == {private.id, shared.id}
    assert await found(Visibility(owner=bob)) == {newer.id}
    assert await found(Visibility(group=GROUP, present=(ana, bob))) == {shared.id, group.id}
    other = Group(ConversationKey("kith", "test", "other"))
    assert await found(Visibility(group=other, present=(bob,))) == set()
    assert await found(Visibility()) == set()
    assert (await mem.memory(old.id)).superseded_by == newer.id  # type: ignore[union-attr]
    assert [m.id for m in await mem.memories(bob, history=True)] == [group.id, old.id, newer.id]
    assert [m.id for m in await mem.memories(bob)] == [group.id, newer.id]


async def test_vector_search_is_filtered_the_same_way(store: Store) -> None:
    ana, bob = await people(store, "ana", "bob")
    mem = store.memories
    a = await mem.add_memory(new(ana, "a", vector=[1.0, 0.0, 0.0]), NOW)
    b = await mem.add_memory(new(ana, "b", SHARED, vector=[0.9, 0.1, 0.0]), NOW)
    c = await mem.add_memory(new(bob, "c", vector=[1.0, 0.0, 0.1]), NOW)
    d = await mem.add_memory(new(ana, "d"), NOW)
    await mem.set_vector(d.id, [0.0, 1.0, 0.0])
    assert await mem.search_vectors(Visibility(owner=ana), [1, 0, 0], NOW, 5) == [a.id, b.id, d.id]
    assert await mem.search_vectors(Visibility(owner=ana), [0, 1, 0], NOW, 1) == [d.id]
    assert await mem.search_vectors(Visibility(present=(ana, bob)), [1, 0, 0], NOW, 5) == [b.id]
    assert await mem.search_vectors(Visibility(owner=bob), [1, 0, 0], NOW, 5) == [c.id]
    assert await mem.search_vectors(Visibility(owner=ana), [1, 0], NOW, 5) == []  # other dim


async def test_delete_is_scoped_to_the_owner_and_takes_history(store: Store) -> None:
    ana, bob = await people(store, "ana", "bob")
    mem = store.memories
    old = await mem.add_memory(new(ana, "Lives in Lisbon"), NOW)
    cur = await mem.add_memory(new(ana, "Lives in Porto", replaces=old.id), NOW)
    keep = await mem.add_memory(new(ana, "Plays chess"), NOW)
    assert await mem.delete_memories(bob, [cur.id]) == 0
    assert await mem.delete_memories(ana, [cur.id]) == 2
    assert [m.id for m in await mem.memories(ana, history=True)] == [keep.id]
    assert await mem.search_text(Visibility(owner=ana), "Lisbon Porto", NOW, 5) == []
    await mem.add_memory(new(bob, "Bob's"), NOW)
    assert await mem.delete_all(ana) == 1 and len(await mem.memories(bob)) == 1


async def test_learning_switch_and_pending_forget(store: Store) -> None:
    [ana] = await people(store, "ana")
    mem = store.memories
    assert await mem.learning(ana) is True
    await mem.set_learning(ana, False)
    assert await mem.learning(ana) is False
    await mem.set_pending_forget(ana, ["m1", "m2"])
    assert (await mem.take_pending_forget(ana)).ids == ("m1", "m2")
    assert (await mem.take_pending_forget(ana)).ids == ()


async def test_link_codes_merge_and_unlink_splits(store: Store) -> None:
    tg = await store.person_for("telegram", Sender("t1", "Ana"))
    wa = await store.person_for("whatsapp", Sender("w1", "Ana W"))
    other_tg = await store.person_for("telegram", Sender("t2", "Mallory"))
    mem = store.memories
    await store.set_preference(tg, "name", "Ana")
    await store.set_preference(wa, "name", "Annie")
    await store.set_preference(wa, "timezone", "Europe/Lisbon")
    told = NewMemory(wa, "Has a cat", MemoryKind.FACT, Source("w:1", "whatsapp", "w1", NOW), 1)
    await mem.add_memory(told, NOW)

    code = await mem.create_link_code(tg, NOW, 600)
    assert (await mem.redeem_link_code("WRONG123", wa, NOW)).refusal is LinkRefusal.UNKNOWN
    assert (await mem.redeem_link_code(code, tg, NOW)).refusal is LinkRefusal.SAME_PERSON
    late = NOW + timedelta(seconds=601)
    assert (await mem.redeem_link_code(code, wa, late)).refusal is LinkRefusal.EXPIRED
    assert (await mem.redeem_link_code(code, other_tg, NOW)).refusal is LinkRefusal.CONFLICT
    assert (await mem.redeem_link_code(code, wa, NOW)).refusal is LinkRefusal.USED

    code = await mem.create_link_code(tg, NOW, 600)
    result = await mem.redeem_link_code(f" {code.lower()} ", wa, NOW)
    assert result.person_id == tg and result.refusal is None
    assert await store.person_for("whatsapp", Sender("w1")) == tg
    assert await store.preferences(tg) == {"name": "Ana", "timezone": "Europe/Lisbon"}
    assert [m.text for m in await mem.memories(tg)] == ["Has a cat"]
    assert {i.channel for i in await mem.identities(tg)} == {"telegram", "whatsapp"}

    split = await mem.unlink(tg, "whatsapp", "w1")
    assert split is not None and await store.person_for("whatsapp", Sender("w1")) == split
    assert [m.text for m in await mem.memories(split)] == ["Has a cat"]
    assert await mem.memories(tg) == []
    assert await mem.unlink(tg, "telegram", "t1") is None  # the only identity left


async def test_export_holds_only_the_persons_data(store: Store) -> None:
    ana, bob = await people(store, "ana", "bob")
    await store.memories.add_memory(new(ana, "Ana fact"), NOW)
    await store.memories.add_memory(new(bob, "Bob fact"), NOW)
    data = await store.memories.export(ana)
    assert data["person_id"] == ana and [m["text"] for m in data["memories"]] == ["Ana fact"]
    assert "Bob" not in str(data).replace("bob", "")


async def test_people_in_a_conversation_are_its_recent_speakers(store: Store) -> None:
    assert await store.memories.people_in(ConversationKey("kith", "test", "nobody"), 5) == []


async def test_current_lists_active_time_bound_memories_newest_first(store: Store) -> None:
    ana, bob = await people(store, "ana", "bob")
    mem = store.memories
    soon = NOW + timedelta(days=3)
    trip = await mem.add_memory(new(ana, "In Lisbon this week", expires_at=soon), NOW)
    later = await mem.add_memory(new(ana, "Has guests until Sunday", expires_at=soon), NOW)
    await mem.add_memory(new(ana, "Lives in Porto"), NOW)
    await mem.add_memory(new(bob, "In Oslo this week", expires_at=soon), NOW)
    assert await mem.search_current(Visibility(owner=ana), NOW, 5) == [later.id, trip.id]
    assert await mem.search_current(Visibility(owner=ana), soon, 5) == []
    assert await mem.search_current(Visibility(present=(ana,)), NOW, 5) == []


async def test_update_corrects_text_and_scope_in_place_for_the_owner_only(store: Store) -> None:
    ana, bob = await people(store, "ana", "bob")
    mem = store.memories
    made = await mem.add_memory(new(ana, "Plays the kazooqwerty", SHARED), NOW)
    later = NOW + timedelta(hours=1)
    assert await mem.update_memory(bob, made.id, later, text="Bob was here") is None
    fixed = await mem.update_memory(ana, made.id, later, text="Plays the oboe")
    assert fixed is not None and fixed.id == made.id and fixed.text == "Plays the oboe"
    assert fixed.source == made.source and fixed.scope == SHARED
    assert await mem.search_text(Visibility(owner=ana), "kazooqwerty", NOW, 5) == []
    assert await mem.search_text(Visibility(owner=ana), "oboe", NOW, 5) == [made.id]
    private = await mem.update_memory(ana, made.id, later, scope=PRIVATE)
    assert private is not None and private.scope == PRIVATE and private.text == "Plays the oboe"
    assert await mem.search_text(Visibility(group=GROUP, present=(ana,)), "oboe", NOW, 5) == []
    assert await mem.update_memory(ana, "m00000000", later, text="x") is None


async def test_source_texts_are_the_kept_messages(store: Store) -> None:
    said = Inbound(id="test:c:1", conversation=ConversationKey("kith", "test", "c"),
                   sender=Sender("ana", "Ana"), text="I play the oboe", trust=Trust.OWNER,
                   addressed=Addressed.DIRECT, chat=ChatKind.DIRECT)
    [ana] = await people(store, "ana")
    await store.finish_turn(TurnRecord(said, ana, said.text, "Lovely!"), InboxStatus.DONE,
                            fence=None)
    assert await store.memories.source_texts(["test:c:1", "nope"]) == {
        "test:c:1": "I play the oboe"}
