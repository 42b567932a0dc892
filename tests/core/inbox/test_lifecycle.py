"""Every transition of a message's lifecycle, as a table (pure: no store, no clock)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from core.inbox.lifecycle import (
    Arrived,
    Commit,
    Delivered,
    Drop,
    Event,
    Hold,
    InvalidTransition,
    Look,
    MarkDelivered,
    MarkUndeliverable,
    ModelDown,
    Notice,
    Notify,
    Policy,
    Redeliver,
    Refused,
    RunTurn,
    State,
    Step,
    TurnCrashed,
    TurnEnded,
    Wait,
    step,
    turn_status,
)
from core.store.base import Delivery
from core.store.base import InboxStatus as S

NOW = datetime(2026, 12, 7, 12, 0, tzinfo=UTC)
POLICY = Policy(hold_for=600, give_up_after=300, retry_min=1, retry_max=8)
RECENT = NOW - timedelta(seconds=10)
LONG_AGO = NOW - timedelta(seconds=601)

PENDING = State(S.PENDING)
HELD = State(S.HELD, held_since=RECENT, tries=2)
ANSWERED = State(S.ANSWERED, answered_at=RECENT)

# (state, event, the state after, the actions)
TABLE: list[tuple[str, State, Event, Step]] = [
    # looking at a message: what to do next
    ("pending: run the turn", PENDING, Look(), (PENDING, (RunTurn(held=False),))),
    ("held: run it again, quietly", HELD, Look(), (HELD, (RunTurn(held=True),))),
    ("held past the horizon: dropped and told", State(S.HELD, held_since=LONG_AGO), Look(),
     (State(S.FAILED, held_since=LONG_AGO), (Drop(), Notify(Notice.DROPPED)))),
    ("answered: deliver the stored reply", ANSWERED, Look(), (ANSWERED, (Redeliver(),))),
    ("answered past the horizon: undeliverable",
     State(S.ANSWERED, answered_at=LONG_AGO), Look(),
     (State(S.UNDELIVERABLE, answered_at=LONG_AGO), (MarkUndeliverable(),))),
    *[(f"{s.value}: nothing to do", State(s), Look(), (State(s), ()))
      for s in (S.DELIVERED, S.UNDELIVERABLE, S.DONE, S.FAILED)],
    # a new message
    ("arrived behind a held one: held, told at once", PENDING, Arrived(behind_held=True),
     (State(S.HELD, held_since=NOW), (Hold(NOW), Notify(Notice.QUEUED)))),
    ("arrived in a conversation that answers", PENDING, Arrived(behind_held=False),
     (PENDING, ())),
    ("arrived, already held (resumed)", HELD, Arrived(behind_held=True), (HELD, ())),
    # the turn
    ("a turn with a reply: answered", PENDING, TurnEnded(answered=True),
     (State(S.ANSWERED, answered_at=NOW), (Commit(S.ANSWERED),))),
    ("a held turn with a reply: answered, tries reset", HELD, TurnEnded(answered=True),
     (State(S.ANSWERED, held_since=RECENT, answered_at=NOW), (Commit(S.ANSWERED),))),
    ("a turn with nothing to deliver: done", PENDING, TurnEnded(answered=False),
     (State(S.DONE), (Commit(S.DONE),))),
    ("a held turn with nothing to deliver: done", HELD, TurnEnded(answered=False),
     (State(S.DONE, held_since=RECENT, tries=2), (Commit(S.DONE),))),
    ("a crashed turn: failed", PENDING, TurnCrashed(), (State(S.FAILED), (Commit(S.FAILED),))),
    ("a crashed held turn: failed", HELD, TurnCrashed(),
     (State(S.FAILED, held_since=RECENT, tries=2), (Commit(S.FAILED),))),
    ("no model: held from now, written, tried again", PENDING, ModelDown(),
     (State(S.HELD, held_since=NOW, tries=1), (Hold(NOW), Wait(1)))),
    ("still no model: a longer pause, nothing written", HELD, ModelDown(),
     (State(S.HELD, held_since=RECENT, tries=3), (Wait(4),))),
    # delivery
    ("the platform took it: delivered", ANSWERED, Delivered(("p1",), "ok"),
     (State(S.DELIVERED, answered_at=RECENT), (MarkDelivered(("p1",), "ok"),))),
    ("refused for good: undeliverable", ANSWERED, Refused(permanent=True),
     (State(S.UNDELIVERABLE, answered_at=RECENT), (MarkUndeliverable(),))),
    ("refused for now: tried again after a pause", ANSWERED, Refused(permanent=False),
     (State(S.ANSWERED, answered_at=RECENT, tries=1), (Wait(1),))),
]


@pytest.mark.parametrize(("state", "event", "expected"), [row[1:] for row in TABLE],
                         ids=[row[0] for row in TABLE])
def test_transition(state: State, event: Event, expected: Step) -> None:
    assert step(state, event, NOW, POLICY) == expected


EVENTS: list[Event] = [Look(), Arrived(True), Arrived(False), TurnEnded(True),
                       TurnEnded(False), TurnCrashed(), ModelDown(), Delivered(("p",), "ok"),
                       Refused(True), Refused(False)]


ANY = {Look, Arrived}  # every message may be looked at, or arrive
ALLOWED = {
    S.PENDING: {TurnEnded, TurnCrashed, ModelDown},
    S.HELD: {TurnEnded, TurnCrashed, ModelDown},
    S.ANSWERED: {Delivered, Refused},
}


@pytest.mark.parametrize("status", list(S))
def test_every_other_event_is_refused(status: S) -> None:
    """What the table does not list cannot happen: a driver bug is loud, not a silent no-op."""
    state = State(status, held_since=RECENT, answered_at=RECENT)
    for event in EVENTS:
        if type(event) in ALLOWED.get(status, set()) | ANY:
            step(state, event, NOW, POLICY)
        else:
            with pytest.raises(InvalidTransition):
                step(state, event, NOW, POLICY)


def test_the_table_covers_every_allowed_pair() -> None:
    covered = {(s.status, type(e)) for _, s, e, _ in TABLE}
    expected = {(status, kind) for status, kinds in ALLOWED.items() for kind in kinds}
    expected |= {(status, Look) for status in S} | {(S.PENDING, Arrived)}
    assert expected <= covered


def test_the_pause_doubles_up_to_the_longest() -> None:
    assert [POLICY.backoff(n) for n in range(1, 7)] == [1, 2, 4, 8, 8, 8]


def test_state_is_read_from_the_stored_delivery() -> None:
    stored = Delivery(S.HELD, held_since=RECENT, answered_at=None)
    assert State.of(stored, tries=3) == State(S.HELD, held_since=RECENT, tries=3)
    assert State.of(None) == PENDING


def test_a_turn_run_alone_commits_with_the_same_status() -> None:
    assert turn_status(answered=True) is S.ANSWERED
    assert turn_status(answered=False) is S.DONE
