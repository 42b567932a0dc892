"""The ActionStore role (``store.actions``) on every backend: a key is recorded once, a
state change is a compare-and-set, and ``atomically`` commits Kith's own writes with the
action's completion or neither."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from core.actions.model import Action, ActionKey, State
from core.events import ConversationKey, Sender
from core.schedule.model import Kind, NewSchedule
from core.store.base import Store
from tests.contract.test_store_contract import inbound

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _action(person: str, index: int = 0, state: State = State.PROPOSED) -> Action:
    return Action(key=ActionKey("test:kith:a:1", index), person_id=person,
                  conversation=ConversationKey("kith", "test", "a"), tool="create_reminder",
                  args='{"text": "x"}',
                  state=state, summary="create reminder (text: x)", reason="a forward",
                  created_at=NOW + timedelta(seconds=index),
                  expires_at=NOW + timedelta(hours=24))


async def test_record_once_and_compare_and_set(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    first = await store.actions.record(_action(ana))
    assert first == _action(ana)
    again = await store.actions.record(replace(_action(ana), state=State.APPROVED))
    assert again == first  # the key was taken: the stored record stands
    await store.actions.record(_action(ana, 1))
    assert [a.key.index for a in await store.actions.proposals("kith/test/a", ana)] == [1, 0]
    assert await store.actions.proposals("kith/test/b", ana) == []
    assert await store.actions.proposals("kith/test/a", "someone-else") == []
    assert [a.key.index for a in await store.actions.made_by("test:kith:a:1")] == [0, 1]
    approved = replace(first, state=State.APPROVED, decided_by="ana")
    assert await store.actions.save(approved, State.PROPOSED, False)
    assert not await store.actions.save(replace(first, state=State.DECLINED),
                                        State.PROPOSED, False)  # a double click
    assert await store.actions.get(first.key) == approved
    assert [a.key.index for a in await store.actions.made_by("test:kith:a:1")] == [1]
    started = replace(approved, started=True)
    assert await store.actions.save(started, State.APPROVED, False)
    assert not await store.actions.save(started, State.APPROVED, False)  # started once
    assert await store.actions.get(ActionKey("test:kith:a:9", 0)) is None


async def test_interrupted_finds_approved_proposals_whose_run_did_not_end(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    proposal = await store.actions.record(_action(ana))
    trusted = await store.actions.record(_action(ana, 1, State.APPROVED))  # never proposed
    assert await store.actions.interrupted("kith/test/a", ana) == []
    approved = replace(proposal, state=State.APPROVED, decided_by="ana")
    assert await store.actions.save(approved, State.PROPOSED, False)
    assert await store.actions.interrupted("kith/test/a", ana) == [approved]
    assert await store.actions.interrupted("kith/test/b", ana) == []
    assert await store.actions.interrupted("kith/test/a", "someone-else") == []
    assert await store.actions.save(replace(approved, state=State.DONE), State.APPROVED, False)
    assert await store.actions.interrupted("kith/test/a", ana) == []
    assert trusted.decided_by == ""


async def test_atomically_commits_both_or_neither(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    action = await store.actions.record(_action(ana, state=State.APPROVED))
    new = NewSchedule(ana, Kind.REMINDER, inbound(1), "stretch", "Europe/Lisbon", None,
                      NOW + timedelta(hours=1), (NOW + timedelta(hours=1)).replace(tzinfo=None))
    with pytest.raises(RuntimeError, match="boom"):
        async with store.atomically() as tx:
            await tx.schedule.add(new, NOW)
            await tx.actions.save(replace(action, state=State.DONE), State.APPROVED, False)
            raise RuntimeError("boom")
    assert await store.schedule.for_person(ana) == []
    assert (await store.actions.get(action.key)) == action
    async with store.atomically() as tx:
        await tx.schedule.add(new, NOW)
        assert await tx.actions.save(replace(action, state=State.DONE), State.APPROVED, False)
    assert [s.text for s in await store.schedule.for_person(ana)] == ["stretch"]
    done = await store.actions.get(action.key)
    assert done is not None and done.state is State.DONE


async def test_forgetting_deletes_the_persons_actions(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    bo = await store.person_for("test", Sender("bo", "Bo"))
    await store.actions.record(replace(_action(ana, 0), args='{"text": "pay Bénédicte"}'))
    await store.actions.record(_action(ana, 1))
    await store.actions.record(replace(_action(bo, 2), args='{"text": "pay Bénédicte"}'))
    assert await store.actions.delete_matching(ana, "BÉNÉDICTE") == 1
    assert await store.actions.get(ActionKey("test:kith:a:1", 0)) is None
    assert await store.actions.get(ActionKey("test:kith:a:1", 2)) is not None  # Bo's
    assert await store.actions.delete_person(ana) == 1
    assert await store.actions.get(ActionKey("test:kith:a:1", 1)) is None
    assert await store.actions.get(ActionKey("test:kith:a:1", 2)) is not None
