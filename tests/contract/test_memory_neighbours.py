"""Conversation neighbours (``core.memory.neighbours``) on every Store backend: the memory
stored right after a strong match in the same stretch of a conversation is recalled with
it, and nothing the asker may not see, nothing from another chat or another day, and
nothing superseded ever comes along."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from core.events import Sender
from core.ids import ConversationKey, InboundId, PersonId
from core.memory.model import (
    PRIVATE,
    SHARED,
    Group,
    MemoryKind,
    MemoryScope,
    NewMemory,
    Source,
    Visibility,
)
from core.memory.neighbours import Adjacent
from core.memory.recall import RecallQuery, ranked, recall
from core.store.base import Store

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def said(person: PersonId, text: str, at: datetime, channel: str = "chat",
         scope: MemoryScope = PRIVATE, replaces: str | None = None) -> NewMemory:
    return NewMemory(person, text, MemoryKind.FACT,
                     Source(InboundId(f"in-{text[:8]}"), channel, "u", at), 0.9, scope=scope,
                     replaces=replaces)


async def test_the_answer_stored_after_the_question_is_recalled_with_it(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    mem, t = store.memories, NOW - timedelta(days=3)
    await mem.add_memory(said(ana, "Booked the dentist for the kids", t - timedelta(hours=5)), t)
    asked = await mem.add_memory(said(ana, "Who played at my daughter's birthday concert?", t), t)
    answer = await mem.add_memory(said(ana, "It was Matt Patterson, what a voice",
                                       t + timedelta(minutes=1)), t)
    for n in range(3):  # other memories that share the question's words, on other days
        await mem.add_memory(said(ana, f"Played football with my daughter, round {n}",
                                  t + timedelta(days=1 + n)), t)
    query = RecallQuery(Visibility(owner=ana), "Who played at the birthday concert?", NOW, k=5)
    lexical = await mem.search_text(query.visibility, query.text, NOW, 30)
    assert lexical[0] == asked.id and answer.id not in lexical  # none of the question's words
    order = await ranked(mem, query)
    assert order[0] == asked.id and answer.id in order[1:5]
    assert answer.id in [m.id for m in await recall(mem, query)]


async def test_neighbours_are_the_same_stretch_of_one_conversation(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "ana"))
    bob = await store.person_for("test", Sender("bob", "bob"))
    mem, t = store.memories, NOW - timedelta(days=3)
    first = await mem.add_memory(said(ana, "Before, in the chat", t - timedelta(minutes=2)), t)
    middle = await mem.add_memory(said(ana, "The middle one", t), t)
    await mem.add_memory(said(bob, "Bob says something meanwhile", t), t)  # another person
    after = await mem.add_memory(said(ana, "After, in the chat", t + timedelta(minutes=3)), t)
    later = await mem.add_memory(said(ana, "Next day", t + timedelta(days=1)), t)
    other = await mem.add_memory(said(ana, "Other channel", t + timedelta(days=1, minutes=1),
                                      channel="mail"), t)
    v = Visibility(owner=ana)
    found = await mem.adjacent(v, [middle.id, after.id, later.id, other.id], NOW)
    assert found[middle.id] == Adjacent(first.id, after.id)
    assert found[after.id] == Adjacent(middle.id, None)  # the next is a day later
    assert later.id not in found  # the day before is too far, the next is another channel
    assert other.id not in found
    assert await mem.adjacent(v, [], NOW) == {}


async def test_a_neighbour_the_asker_may_not_see_never_comes_along(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "ana"))
    bob = await store.person_for("test", Sender("bob", "bob"))
    mem, t = store.memories, NOW - timedelta(days=3)
    shared = await mem.add_memory(said(ana, "Ana's shared garden plan", t, scope=SHARED), t)
    private = await mem.add_memory(said(ana, "Ana's private diary", t + timedelta(seconds=5)), t)
    old = await mem.add_memory(said(ana, "Lives in Lisbon", t + timedelta(seconds=9)), t)
    porto = await mem.add_memory(said(ana, "Lives in Porto", t + timedelta(seconds=10),
                                      replaces=old.id), t)
    in_bobs_view = Visibility(group=Group(ConversationKey("kith", "test", "g")),
                              present=(ana, bob))
    assert await mem.adjacent(in_bobs_view, [shared.id], NOW) == {}
    assert (await mem.adjacent(Visibility(owner=ana), [shared.id], NOW))[shared.id] == Adjacent(
        None, private.id)
    assert await mem.adjacent(Visibility(owner=bob), [shared.id], NOW) == {}
    # a superseded memory is skipped: the private diary's next current memory is Porto
    assert (await mem.adjacent(Visibility(owner=ana), [private.id], NOW))[private.id] == \
        Adjacent(shared.id, porto.id)
