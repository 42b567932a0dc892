"""A conversation's turns and state, and what one finished turn writes."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from core.events import Inbound, Quoted
from core.history import ToolTrace
from core.ids import InboundId, PersonId
from core.provenance import Origin

NO_MESSAGE = InboundId("")  # a turn stored without its message's id


@dataclass(frozen=True, slots=True)
class Turn:
    seq: int
    role: str  # "user" or "assistant"
    author: str  # display name of the sender, "" for the assistant
    text: str  # user turns: only the person's own words
    tokens: int
    created_at: datetime
    command: bool = False  # a slash command or its answer: shown, never prompted
    inbound_id: InboundId = NO_MESSAGE  # the message this turn belongs to (its reply too)
    quoted: tuple[Quoted, ...] = ()  # user turns: words they forwarded or quoted, kept apart
    read_quoted: bool = False  # both turns of an exchange that read quoted content: the
    # reply was written from third-party words, so nothing is learned from either
    person_id: PersonId | None = None  # user turns: who wrote it (in a group, maybe not the person)
    trace: ToolTrace | None = None  # assistant turns: the tools it called, as they ran
    origin: Origin = field(kw_only=True)  # required: no default grants trust
    # ``origin``: what the turn was written from, directly. User turns: the person's own words
    # (PERSON) or words they forwarded or quoted (QUOTE). Assistant turns: KITH, or the
    # untrusted origin it read itself (its message's quoted words, an untrusted tool result).


@dataclass(frozen=True, slots=True)
class ConversationState:
    epoch: int = 0
    summary: str = ""
    summary_upto: int = 0  # turns with seq <= this are covered by the summary
    summary_origin: Origin = Origin.KITH  # an untrusted origin when it folded such a turn


@dataclass(frozen=True, slots=True)
class TurnRecord:
    """What one finished turn writes. The agent fills it in; the message's status is the
    lifecycle's (``core.inbox``), given with it to the commit."""

    inbound: Inbound
    person_id: PersonId
    user_text: str | None  # None: do not record the message (e.g. a command)
    reply_text: str | None
    user_tokens: int = 0
    reply_tokens: int = 0
    answer: str | None = None  # what the person is sent (stored until the platform accepts)
    answer_status: str | None = None  # its ReplyStatus
    command: bool = False  # a slash command's exchange: kept for the person, never prompted
    trace: ToolTrace | None = None  # the tools the reply called (the reply's origin follows)
