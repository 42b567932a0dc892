"""A message's life, as a pure state machine: ``step(state, event, now, policy)``.

No ``await``, no store, no clock: the driver (:mod:`core.inbox.driver`) reads the message's
state from the store, feeds what happened, and carries out the actions it gets back
(writing the store, asking the agent, handing a reply to its channel, waiting). This is
the one place where a message's inbox status is decided::

    pending ──turn──▶ answered ──platform took it──▶ delivered
       │   └──────▶ done (nothing to deliver)
       │                answered ──refused for good / past the horizon──▶ undeliverable
       ├──no model──▶ held ──a model answers──▶ answered | done
       │               └──past the hold horizon──▶ failed (the person is told)
       └──the turn crashed──▶ failed
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum

from core.ids import PlatformMessageId
from core.inbox.model import Delivery, InboxStatus

FINISHED = frozenset({InboxStatus.DELIVERED, InboxStatus.UNDELIVERABLE, InboxStatus.DONE,
                      InboxStatus.FAILED})


class InvalidTransition(ValueError):
    """An event that cannot happen to a message in this state (a driver bug)."""


@dataclass(frozen=True, slots=True)
class Policy:
    """How long to keep trying, and how long to pause between tries (seconds)."""

    hold_for: float = 3600.0  # a held message waits this long for a model
    give_up_after: float = 3600.0  # a refused reply is tried this long after the answer
    retry_min: float = 1.0
    retry_max: float = 60.0

    def backoff(self, tries: int) -> float:
        return min(self.retry_max, self.retry_min * 2.0 ** max(0, tries - 1))


@dataclass(frozen=True, slots=True)
class State:
    """Where one message is. ``tries``: pauses so far in this process (model or platform)."""

    status: InboxStatus = InboxStatus.PENDING
    held_since: datetime | None = None
    answered_at: datetime | None = None
    tries: int = 0

    @classmethod
    def of(cls, delivery: Delivery | None, tries: int = 0) -> State:
        if delivery is None:
            return cls(tries=tries)
        return cls(delivery.status, delivery.held_since, delivery.answered_at, tries)


# -- events: what happened ------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class Look:
    """The driver looks at the message (first, or again after a pause)."""


@dataclass(frozen=True, slots=True)
class Arrived:
    """The message was recorded; ``behind_held``: its conversation waits for a model."""

    behind_held: bool


@dataclass(frozen=True, slots=True)
class TurnEnded:
    """The agent finished the turn; ``answered``: there is a reply to deliver."""

    answered: bool


@dataclass(frozen=True, slots=True)
class TurnCrashed:
    """The turn raised (a bug): given up."""


@dataclass(frozen=True, slots=True)
class ModelDown:
    """No model answered; nothing of the turn was recorded."""


@dataclass(frozen=True, slots=True)
class Delivered:
    """The platform took the reply; it shows as these platform messages."""

    platform_ids: tuple[PlatformMessageId, ...]
    reply_status: str


@dataclass(frozen=True, slots=True)
class Refused:
    """The platform did not take the reply; ``permanent``: trying again cannot help."""

    permanent: bool


Event = Look | Arrived | TurnEnded | TurnCrashed | ModelDown | Delivered | Refused


# -- actions: what the driver does -----------------------------------------------------------

class Notice(StrEnum):
    QUEUED = "queued"  # held behind an earlier message: answered in order
    DROPPED = "dropped"  # past the hold horizon


@dataclass(frozen=True, slots=True)
class RunTurn:
    held: bool  # the person was told already: show nothing until a model answers


@dataclass(frozen=True, slots=True)
class Redeliver:
    """Hand the stored reply to its channel again (never asking the model)."""


@dataclass(frozen=True, slots=True)
class Commit:
    """Write the turn with this inbox status, atomically (fenced among replicas)."""

    status: InboxStatus


@dataclass(frozen=True, slots=True)
class MarkDelivered:
    platform_ids: tuple[PlatformMessageId, ...]
    reply_status: str


@dataclass(frozen=True, slots=True)
class MarkUndeliverable:
    pass


@dataclass(frozen=True, slots=True)
class Hold:
    since: datetime


@dataclass(frozen=True, slots=True)
class Drop:
    """Past the hold horizon: the message is given up (``failed``)."""


@dataclass(frozen=True, slots=True)
class Notify:
    """Tell the person (best effort, never stored or re-delivered)."""

    notice: Notice


@dataclass(frozen=True, slots=True)
class Wait:
    """Pause this long, then :class:`Look` again (a shutdown ends the wait: it resumes)."""

    seconds: float


Action = (RunTurn | Redeliver | Commit | MarkDelivered | MarkUndeliverable | Hold | Drop
          | Notify | Wait)
Step = tuple[State, tuple[Action, ...]]


def _age(since: datetime | None, now: datetime) -> float:
    return 0.0 if since is None else (now - since).total_seconds()


def _look(state: State, now: datetime, policy: Policy) -> Step:
    status = state.status
    if status in FINISHED:
        return state, ()
    if status is InboxStatus.ANSWERED:
        if _age(state.answered_at, now) > policy.give_up_after:
            return replace(state, status=InboxStatus.UNDELIVERABLE), (MarkUndeliverable(),)
        return state, (Redeliver(),)
    if status is InboxStatus.HELD:
        if _age(state.held_since, now) > policy.hold_for:
            return (replace(state, status=InboxStatus.FAILED),
                    (Drop(), Notify(Notice.DROPPED)))
        return state, (RunTurn(held=True),)
    return state, (RunTurn(held=False),)


def _again(state: State, policy: Policy) -> Step:
    """Try again after a pause that grows with each try."""
    tries = state.tries + 1
    return replace(state, tries=tries), (Wait(policy.backoff(tries)),)


def _held(state: State, now: datetime, policy: Policy) -> Step:
    """No model answered: held (written once, with when it started), tried again later."""
    if state.status is InboxStatus.HELD:
        return _again(state, policy)
    after, wait = _again(replace(state, status=InboxStatus.HELD, held_since=now), policy)
    return after, (Hold(now), *wait)


def step(state: State, event: Event, now: datetime, policy: Policy) -> Step:
    """The next state of a message and what to do about it."""
    status = state.status
    running = status in (InboxStatus.PENDING, InboxStatus.HELD)
    match event:
        case Look():
            return _look(state, now, policy)
        case Arrived(behind_held=True) if status is InboxStatus.PENDING:
            return (replace(state, status=InboxStatus.HELD, held_since=now),
                    (Hold(now), Notify(Notice.QUEUED)))
        case Arrived():
            return state, ()
        case TurnEnded(answered=True) if running:
            return (replace(state, status=InboxStatus.ANSWERED, answered_at=now, tries=0),
                    (Commit(InboxStatus.ANSWERED),))
        case TurnEnded(answered=False) if running:
            return replace(state, status=InboxStatus.DONE), (Commit(InboxStatus.DONE),)
        case TurnCrashed() if running:
            return replace(state, status=InboxStatus.FAILED), (Commit(InboxStatus.FAILED),)
        case ModelDown() if running:
            return _held(state, now, policy)
        case Delivered(ids, reply_status) if status is InboxStatus.ANSWERED:
            return (replace(state, status=InboxStatus.DELIVERED),
                    (MarkDelivered(ids, reply_status),))
        case Refused(permanent=True) if status is InboxStatus.ANSWERED:
            return replace(state, status=InboxStatus.UNDELIVERABLE), (MarkUndeliverable(),)
        case Refused() if status is InboxStatus.ANSWERED:
            return _again(state, policy)
    raise InvalidTransition(f"{type(event).__name__} while {status.value}")


def turn_status(answered: bool) -> InboxStatus:
    """The status a finished turn commits with (for a turn run outside the dispatcher)."""
    return step(State(), TurnEnded(answered), datetime.min, Policy())[0].status
