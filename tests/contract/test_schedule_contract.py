"""The ScheduleStore and ListStore roles (``store.schedule``, ``store.lists``), run against
every Store backend; claim_due racing from two stores on one database fires each once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from core.events import Inbound, Sender
from core.schedule.model import Kind, NewSchedule
from core.store.base import Store
from tests.contract.test_store_contract import inbound

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


async def _person(store: Store, name: str = "ana") -> str:
    return await store.person_for("test", Sender(name, name.title()))


def _new(person: str, text: str, due: datetime, rule: str | None = None,
         kind: Kind = Kind.REMINDER, origin: Inbound | None = None) -> NewSchedule:
    return NewSchedule(person, kind, origin or inbound(1, text="set it please"), text,
                       "Europe/Lisbon", rule, due, due.replace(tzinfo=None))


async def test_add_get_list_cancel(store: Store) -> None:
    ana, bo = await _person(store), await _person(store, "bo")
    later = await store.schedule.add(_new(ana, "later", NOW + timedelta(hours=2)), NOW)
    soon = await store.schedule.add(_new(ana, "soon", NOW + timedelta(hours=1)), NOW)
    brief = await store.schedule.add(
        _new(ana, "", NOW + timedelta(days=1), "FREQ=DAILY", Kind.BRIEFING), NOW)
    assert later.id.startswith("r") and brief.id.startswith("b") and len(later.id) == 9
    assert (later.person_id, later.kind, later.text, later.rule) == (
        ana, Kind.REMINDER, "later", None)
    assert later.due_at == NOW + timedelta(hours=2) and later.anchor.tzinfo is None
    assert later.conversation == inbound(1).conversation and later.created_at == NOW
    assert await store.schedule.get(later.id) == later
    assert [s.id for s in await store.schedule.for_person(ana)] == [soon.id, later.id, brief.id]
    assert await store.schedule.for_person(ana, Kind.BRIEFING) == [brief]
    assert await store.schedule.next_due() == soon.due_at
    assert await store.schedule.cancel(bo, soon.id) is None  # not theirs
    assert await store.schedule.cancel(ana, f" {soon.id.upper()} ") == soon
    assert await store.schedule.get(soon.id) is None
    assert await store.schedule.cancel(ana, soon.id) is None
    assert await store.schedule.next_due() == later.due_at


async def test_the_origin_keeps_where_and_who_never_the_words(store: Store) -> None:
    ana = await _person(store)
    item = await store.schedule.add(_new(ana, "tea", NOW), NOW)
    [fired] = await store.schedule.claim_due(NOW, 10)
    assert fired.id == f"schedule:{item.id}:{int(NOW.timestamp())}"
    assert fired.text == "" and fired.quoted == () and fired.sender == inbound(1).sender
    assert fired.scheduled is not None and fired.scheduled.text == "tea"


async def test_claim_due_fires_once_moves_on_and_waits_to_be_submitted(store: Store) -> None:
    ana = await _person(store)
    once = await store.schedule.add(_new(ana, "once", NOW), NOW)
    daily = await store.schedule.add(_new(ana, "daily", NOW, "FREQ=DAILY"), NOW)
    future = await store.schedule.add(_new(ana, "future", NOW + timedelta(days=3)), NOW)
    assert await store.schedule.claim_due(NOW - timedelta(seconds=1), 10) == []
    fired = await store.schedule.claim_due(NOW, 10)
    assert sorted(f.scheduled.schedule_id for f in fired if f.scheduled) == sorted(
        [once.id, daily.id])
    assert await store.schedule.claim_due(NOW, 10) == []  # claimed: not due again
    assert await store.schedule.get(once.id) is None  # a one-off is done
    moved = await store.schedule.get(daily.id)
    assert moved is not None and moved.due_at == NOW + timedelta(days=1)
    assert await store.schedule.next_due() == NOW + timedelta(days=1)
    assert {i.id for i in await store.schedule.unsubmitted()} == {f.id for f in fired}
    await store.schedule.mark_submitted([fired[0].id])
    assert [i.id for i in await store.schedule.unsubmitted()] == [fired[1].id]
    assert (await store.schedule.get(future.id)) == future


async def test_claim_due_takes_the_earliest_first_up_to_the_limit(store: Store) -> None:
    ana = await _person(store)
    made = [await store.schedule.add(_new(ana, f"t{n}", NOW - timedelta(minutes=n)), NOW)
            for n in range(5)]
    first = await store.schedule.claim_due(NOW, 2)
    assert [f.scheduled.schedule_id for f in first if f.scheduled] == [made[4].id, made[3].id]
    assert len(await store.schedule.claim_due(NOW, 10)) == 3


async def test_subscribers_hear_of_local_changes(store: Store) -> None:
    ana, heard = await _person(store), []
    store.schedule.subscribe(lambda: heard.append(1))
    item = await store.schedule.add(_new(ana, "tea", NOW), NOW)
    await store.schedule.cancel(ana, item.id)
    await store.schedule.add(_new(ana, "more tea", NOW), NOW)
    await store.schedule.delete_person(ana)
    assert len(heard) == 4


async def test_subscribers_hear_of_a_reminder_set_in_an_action(store: Store) -> None:
    """A reminder a tool sets inside its action's transaction wakes the scheduler too."""
    ana, heard = await _person(store), []
    store.schedule.subscribe(lambda: heard.append(1))
    async with store.atomically() as tx:
        await tx.schedule.add(_new(ana, "tea", NOW), NOW)
    assert heard == [1]
    assert [s.text for s in await store.schedule.for_person(ana)] == ["tea"]


async def test_delete_person_takes_their_schedules_and_fired_occurrences(store: Store) -> None:
    ana, bo = await _person(store), await _person(store, "bo")
    await store.schedule.add(_new(ana, "a1", NOW), NOW)
    await store.schedule.add(_new(ana, "a2", NOW + timedelta(days=1)), NOW)
    theirs = await store.schedule.add(_new(bo, "b1", NOW), NOW)
    assert len(await store.schedule.claim_due(NOW, 10)) == 2
    assert await store.schedule.delete_person(ana) == 2
    assert await store.schedule.for_person(ana) == []
    [left] = await store.schedule.unsubmitted()
    assert left.scheduled is not None and left.scheduled.schedule_id == theirs.id


async def test_claim_due_racing_from_two_stores_fires_each_once(
    store: Store, twin: Store,
) -> None:
    people = [await _person(store, f"p{n}") for n in range(10)]
    made = [await store.schedule.add(_new(people[n % 10], f"task {n}",
                                          NOW + timedelta(milliseconds=n)), NOW)
            for n in range(60)]
    later = NOW + timedelta(seconds=1)

    async def drain(replica: Store) -> list[str]:
        got: list[str] = []
        while batch := await replica.schedule.claim_due(later, 7):
            got.extend(i.id for i in batch)
            await asyncio.sleep(0)
        return got

    results = await asyncio.gather(drain(store), drain(twin), drain(store), drain(twin))
    claimed = [i for r in results for i in r]
    assert len(claimed) == len(set(claimed)) == 60
    assert {i.split(":")[1] for i in claimed} == {m.id for m in made}
    assert len(await twin.schedule.unsubmitted()) == 60


async def test_lists_add_once_check_off_by_words_and_delete(store: Store) -> None:
    ana, bo = await _person(store), await _person(store, "bo")
    added = await store.lists.add_items(ana, "shopping", ["oat milk", " eggs ", "eggs", ""], NOW)
    assert added == ["oat milk", "eggs"]
    assert await store.lists.add_items(ana, "shopping", ["OAT MILK", "bread"], NOW) == ["bread"]
    await store.lists.add_items(ana, "books", ["Dune"], NOW)
    await store.lists.add_items(bo, "shopping", ["milk"], NOW)
    items = await store.lists.items(ana)
    assert [(i.list, i.item) for i in items] == [
        ("books", "Dune"), ("shopping", "oat milk"), ("shopping", "eggs"),
        ("shopping", "bread")]
    assert items[0].created_at == NOW and not items[0].done
    assert await store.lists.check_off(ana, "shopping", ["milk", "nothing"]) == ["oat milk"]
    assert [i.item for i in await store.lists.items(ana, "shopping")] == ["eggs", "bread"]
    every = await store.lists.items(ana, "shopping", include_done=True)
    assert [(i.item, i.done) for i in every] == [
        ("oat milk", True), ("eggs", False), ("bread", False)]
    assert await store.lists.delete_person(ana) == 4
    assert await store.lists.items(ana, include_done=True) == []
    assert [i.item for i in await store.lists.items(bo)] == ["milk"]


async def test_lists_and_reminders_follow_a_linked_person(store: Store) -> None:
    """Linking two identities merges their people: the merged one's lists and reminders
    become the other's (the lists and schedule features' tables follow the merge)."""
    ana = await _person(store)
    annie = await store.person_for("web", Sender("annie", "Ana"))  # Ana on another channel
    await store.lists.add_items(annie, "packing", ["passport"], NOW)
    reminder = await store.schedule.add(_new(annie, "call the bank", NOW + timedelta(hours=1)),
                                        NOW)
    code = await store.memories.create_link_code(ana, NOW, 600)
    assert (await store.memories.redeem_link_code(code, annie, NOW)).person_id == ana
    assert [(i.list, i.item) for i in await store.lists.items(ana)] == [("packing", "passport")]
    assert [s.id for s in await store.schedule.for_person(ana)] == [reminder.id]
