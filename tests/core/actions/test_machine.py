"""The action state machine, pure."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.actions.machine import Decide, Expire, Fail, Finish, Refused, Start, step
from core.actions.model import Action, ActionKey, State, idempotency_key, short_id

T0 = datetime(2026, 12, 1, 10, tzinfo=UTC)
PROPOSAL = Action(key=ActionKey("test:kith:a:1", 0), person_id="p1", conversation="kith/test/a",
                  tool="create_reminder", args="{}", state=State.PROPOSED, summary="x",
                  reason="a forward", created_at=T0, expires_at=T0 + timedelta(hours=24))


def decide(approve: bool = True, person: str = "p1", conv: str = "kith/test/a",
           at: datetime = T0) -> Decide:
    return Decide(approve, person, conv, "user-a", at)


def test_the_person_approves_or_declines_once() -> None:
    approved = step(PROPOSAL, decide())
    assert isinstance(approved, Action) and approved.state is State.APPROVED
    assert approved.decided_by == "user-a"
    declined = step(PROPOSAL, decide(False))
    assert isinstance(declined, Action) and declined.state is State.DECLINED
    for after in (approved, declined):  # a second answer changes nothing
        assert isinstance(step(after, decide()), Refused)


def test_only_that_person_there_before_it_expires() -> None:
    assert step(PROPOSAL, decide(person="p2")) == Refused(
        "only the person it is for may answer it")
    assert step(PROPOSAL, decide(conv="kith/test/b")) == Refused(
        "it can only be answered where it was asked")
    late = step(PROPOSAL, decide(at=PROPOSAL.expires_at))
    assert isinstance(late, Refused) and late.expired
    expired = step(PROPOSAL, Expire(PROPOSAL.expires_at))
    assert isinstance(expired, Action) and expired.state is State.EXPIRED
    assert isinstance(step(PROPOSAL, Expire(T0)), Refused)


def test_a_run_starts_once_and_ends_done_or_failed() -> None:
    approved = replace(PROPOSAL, state=State.APPROVED)
    assert isinstance(step(PROPOSAL, Start()), Refused)  # a proposal never runs
    assert isinstance(step(PROPOSAL, Finish("r", "n")), Refused)
    started = step(approved, Start())
    assert isinstance(started, Action) and started.started
    assert isinstance(step(started, Start()), Refused)  # never started twice
    done = step(started, Finish("r", "n"))
    assert isinstance(done, Action) and (done.state, done.result) == (State.DONE, "r")
    failed = step(approved, Fail("no"))
    assert isinstance(failed, Action) and failed.state is State.FAILED
    assert isinstance(step(done, Fail("late")), Refused)


def test_the_idempotency_key_is_stable_and_distinct() -> None:
    key = ActionKey("test:kith:a:1", 0)
    assert idempotency_key(key) == idempotency_key(ActionKey("test:kith:a:1", 0))
    assert len(idempotency_key(key)) == 32
    assert idempotency_key(key) != idempotency_key(ActionKey("test:kith:a:1", 1))
    assert idempotency_key(key) != idempotency_key(ActionKey("test:kith:a:10", 0))
    assert short_id(key) != short_id(ActionKey("test:kith:a:1", 1))
