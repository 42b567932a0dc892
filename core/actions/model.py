"""One action: a tool call with side effects, keyed by (inbound message id, call index).

The key is fixed by the turn, so a resumed or repeated turn finds the record its earlier
run wrote. :func:`idempotency_key` derives the key an external system sees (a CalDAV
event UID, an MCP request id): the same action always presents the same key.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.ids import ConversationKey, InboundId, PersonId


class State(StrEnum):
    """``proposed → approved → done | failed``; a proposal can also be ``declined`` or
    ``expired``. Only ``proposed`` and ``approved`` are open."""

    PROPOSED = "proposed"  # waiting for the person's yes or no
    APPROVED = "approved"  # may run (by the person's approval, or a trusted context)
    DONE = "done"
    FAILED = "failed"
    DECLINED = "declined"
    EXPIRED = "expired"

    @property
    def open(self) -> bool:
        return self in (State.PROPOSED, State.APPROVED)


class Approvals(StrEnum):
    """A bot's rule for side effects (``approvals`` in bot.toml).

    ``untrusted``: proposed in a context holding untrusted content, done otherwise;
    ``always``: every side effect is proposed; ``never``: never proposed — done in a trusted
    context and refused in an untrusted one.
    """

    UNTRUSTED = "untrusted"
    ALWAYS = "always"
    NEVER = "never"


@dataclass(frozen=True, slots=True, order=True)
class ActionKey:
    inbound_id: InboundId  # the message whose turn asked for it
    index: int  # the how-manieth side-effect call of that turn (0, 1, …)

    def __str__(self) -> str:
        return f"{self.inbound_id}#{self.index}"


def idempotency_key(key: ActionKey) -> str:
    """A stable, opaque key for an external system: the same for every run of the action,
    different for every other action. 32 hex digits, e.g. ``kith-<key>@host`` as a UID."""
    digest = hashlib.sha256(f"kith-action\0{key.inbound_id}\0{key.index}".encode())
    return digest.hexdigest()[:32]


def short_id(key: ActionKey) -> str:
    """The id a platform control carries back (callback data, a button payload)."""
    return "a" + idempotency_key(key)[:11]


@dataclass(frozen=True, slots=True)
class Action:
    key: ActionKey
    person_id: PersonId  # the person it is for: only they may approve it
    conversation: ConversationKey  # where it was asked for: approvals count only there
    tool: str
    args: str  # the validated arguments, JSON
    state: State
    summary: str  # one line: what would happen
    reason: str  # what asked for it (shown with a proposal); "" in a trusted context
    created_at: datetime
    expires_at: datetime  # a proposal not answered by then is void
    started: bool = False  # an effect outside one transaction began; outcome unknown until
    # the action is done or failed
    result: str = ""  # done: what the model is told; failed: why
    notice: str = ""  # done: what the person was shown
    decided_by: str = ""  # the platform id that approved or declined it

    @property
    def id(self) -> str:
        return short_id(self.key)
