"""The action state machine, pure: ``step(action, event) -> Action | Refused``.

No I/O and no clock: each event carries its moment. The runner and the approval path
apply the result with a compare-and-set on the previous state, so a double click or a
replayed callback that lost the race changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from core.actions.model import Action, State
from core.ids import ConversationKey, PersonId


@dataclass(frozen=True, slots=True)
class Decide:
    """The person's yes (``approve``) or no, from ``person_id`` in ``conversation``."""

    approve: bool
    person_id: PersonId
    conversation: ConversationKey
    by: str  # their platform id, kept on the record
    at: datetime


@dataclass(frozen=True, slots=True)
class Start:
    """An effect outside Kith's own store is about to be attempted."""


@dataclass(frozen=True, slots=True)
class Finish:
    result: str
    notice: str


@dataclass(frozen=True, slots=True)
class Fail:
    error: str


@dataclass(frozen=True, slots=True)
class Expire:
    at: datetime


Event = Decide | Start | Finish | Fail | Expire


@dataclass(frozen=True, slots=True)
class Refused:
    """The event does not apply; ``reason`` says why (shown to the person where useful)."""

    reason: str
    expired: bool = False  # a decision came too late: the action should become EXPIRED


def step(action: Action, event: Event) -> Action | Refused:
    state = action.state
    match event:
        case Decide(approve, person_id, conversation, by, at):
            if state is not State.PROPOSED:
                return Refused(f"it is {state.value} already")
            if person_id != action.person_id:
                return Refused("only the person it is for may answer it")
            if conversation != action.conversation:
                return Refused("it can only be answered where it was asked")
            if at >= action.expires_at:
                return Refused("it expired", expired=True)
            return replace(action, state=State.APPROVED if approve else State.DECLINED,
                           decided_by=by)
        case Start():
            if state is not State.APPROVED or action.started:
                return Refused(f"it cannot start: {state.value}"
                               + (", started before" if action.started else ""))
            return replace(action, started=True)
        case Finish(result, notice):
            if state is not State.APPROVED:
                return Refused(f"it cannot finish: {state.value}")
            return replace(action, state=State.DONE, result=result, notice=notice)
        case Fail(error):
            if state is not State.APPROVED:
                return Refused(f"it cannot fail: {state.value}")
            return replace(action, state=State.FAILED, result=error)
        case Expire(at):
            if state is not State.PROPOSED or at < action.expires_at:
                return Refused("it has not expired")
            return replace(action, state=State.EXPIRED)
    raise TypeError(f"not an action event: {event!r}")  # pragma: no cover
