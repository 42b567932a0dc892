"""The Store contract. Every backend passes ``tests/contract``."""

from __future__ import annotations

import secrets
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.actions.store import ActionReader, ActionStore
from core.calendar.links import CalendarLinks
from core.events import ConversationKey, Inbound, Quoted, Sender
from core.history import ToolTrace
from core.ids import InboundId, PersonId, PlatformMessageId
from core.lists.store import ListStore
from core.memory.model import MemoryStore
from core.offers.model import OfferStore
from core.provenance import Origin
from core.schedule.model import ScheduleStore


class InboxStatus(StrEnum):
    """Where a message is: ``pending → answered → delivered`` (or ``undeliverable``).

    ``held``: every model endpoint was down; the person was told, and the message is
    answered once a model answers again (within the hold horizon). ``done``: nothing to
    deliver (context only). ``failed``: given up (past the hold horizon; the person was told).
    """

    PENDING = "pending"  # recorded, not answered yet (resumed after a restart)
    ANSWERED = "answered"  # the reply is stored; not yet accepted by the platform
    DELIVERED = "delivered"  # the platform accepted it (its message ids are stored)
    UNDELIVERABLE = "undeliverable"  # the platform refused it for longer than the horizon
    HELD = "held"  # no model answered; waiting for one, the person was told
    DONE = "done"
    FAILED = "failed"


OPEN_STATUSES = (InboxStatus.PENDING, InboxStatus.ANSWERED, InboxStatus.HELD)
NO_MESSAGE = InboundId("")  # a turn stored without its message's id


@dataclass(frozen=True, slots=True)
class Delivery:
    """The delivery state of one message: what was answered and what the platform shows."""

    status: InboxStatus
    reply: str | None = None  # the stored answer (answered and later)
    reply_status: str | None = None  # the ReplyStatus of that answer
    # platform messages already showing (part of) it
    platform_ids: tuple[PlatformMessageId, ...] = ()
    answered_at: datetime | None = None
    held_since: datetime | None = None


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
    """What one finished turn writes, atomically with the inbox status. The agent fills in
    the turn; ``status`` is decided by the lifecycle (``core.inbox``) when it commits."""

    inbound: Inbound
    person_id: PersonId
    user_text: str | None  # None: do not record the message (e.g. a command)
    reply_text: str | None
    status: InboxStatus = InboxStatus.PENDING
    user_tokens: int = 0
    reply_tokens: int = 0
    answer: str | None = None  # what the person is sent (stored until the platform accepts)
    answer_status: str | None = None  # its ReplyStatus
    command: bool = False  # a slash command's exchange: kept for the person, never prompted
    trace: ToolTrace | None = None  # the tools the reply called (the reply's origin follows)


def new_pairing_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    return "".join(secrets.choice(alphabet) for _ in range(6))


@dataclass(frozen=True, slots=True)
class Pairing:
    channel: str
    platform_id: str
    display_name: str
    code: str
    approved: bool
    new: bool = False  # the code was created by this call


class Lifecycle(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def healthy(self) -> bool: ...


class InboxStore(Protocol):
    """Durable before acknowledgement, dedupe by id, resume after restart.

    ``pending`` lists every open message (pending, answered, held) in arrival order;
    ``open_in`` the open messages of one conversation, in arrival order (a replica that
    takes a conversation over reads its work from here, not from its own memory)."""

    async def record_inbound(self, inbound: Inbound) -> bool: ...
    async def pending(self) -> list[Inbound]: ...
    async def open_in(self, conversation: ConversationKey) -> list[Inbound]: ...
    async def inbox_status(self, inbound_id: InboundId) -> InboxStatus | None: ...


class DeliveryStore(Protocol):
    """pending → answered → delivered | undeliverable; held while no model answers."""

    async def delivery(self, inbound_id: InboundId) -> Delivery | None: ...
    async def record_sent(self, inbound_id: InboundId,
                          platform_ids: tuple[PlatformMessageId, ...]) -> None: ...
    async def mark_delivered(self, inbound_id: InboundId,
                             platform_ids: tuple[PlatformMessageId, ...]) -> None: ...
    async def mark_undeliverable(self, inbound_id: InboundId) -> None: ...
    # hold: the notice the person got is its own message, so the answer is a new one
    async def hold(self, inbound_id: InboundId, since: datetime) -> None: ...
    async def drop_held(self, inbound_id: InboundId) -> None: ...


class PeopleStore(Protocol):
    """People, their preferences, and pairing (unknown senders get a code the owner
    approves with /approve CODE)."""

    async def person_for(self, channel: str, sender: Sender) -> PersonId: ...
    async def preferences(self, person_id: PersonId) -> dict[str, str]: ...
    async def set_preference(self, person_id: PersonId, key: str, value: str | None) -> None: ...
    async def pairing(self, bot: str, channel: str, sender: Sender) -> Pairing: ...
    async def approve(self, bot: str, code: str) -> Pairing | None: ...


class ConversationStore(Protocol):
    async def conversation(self, key: ConversationKey) -> ConversationState: ...
    async def turn_count(self, key: ConversationKey) -> int: ...
    async def history(self, key: ConversationKey, after_seq: int, limit: int) -> list[Turn]: ...
    async def transcript(self, key: ConversationKey, limit: int) -> list[Turn]: ...
    # fence: the lease token the commit needs (replicas), None in one process (see
    # core.coordination.TurnLeases); a fenced commit whose lease was taken raises LeaseLost
    async def finish_turn(self, record: TurnRecord, *, fence: int | None) -> None: ...
    async def set_summary(
        self, key: ConversationKey, epoch: int, summary: str, upto_seq: int, origin: Origin,
    ) -> None: ...
    async def reset(self, key: ConversationKey) -> None: ...
    async def forget(self, key: ConversationKey) -> int: ...


class PersonData(Protocol):
    """A person's data beyond their conversations, feature by feature: what the person's
    controls (``core.controls``) read and change, and what tools write."""

    @property
    def memories(self) -> MemoryStore: ...

    @property
    def schedule(self) -> ScheduleStore: ...

    @property
    def lists(self) -> ListStore: ...

    @property
    def actions(self) -> ActionStore: ...

    @property
    def offers(self) -> OfferStore: ...  # offers made from what they said (core/offers)

    @property
    def calendar_links(self) -> CalendarLinks: ...

    async def preferences(self, person_id: PersonId) -> dict[str, str]: ...


class PersonControls(PersonData, Protocol):
    """The person's own controls outside a conversation (the "what Kith knows about me" page):
    their data, and their preferences set or cleared."""

    async def set_preference(self, person_id: PersonId, key: str, value: str | None) -> None: ...


class PersonStore(PersonData, Protocol):
    """What a turn's tools and the memory commands use: the person's data, and the
    conversation's count and erasure (/memory, /forget all)."""

    async def turn_count(self, key: ConversationKey) -> int: ...
    async def forget(self, key: ConversationKey) -> int: ...

    def atomically(self) -> AbstractAsyncContextManager[PersonStore]:
        """These roles on one transaction: what they write meanwhile commits together, or
        not at all (an action's completion and the rows its handler writes)."""
        ...


class CommandStore(PersonStore, Protocol):
    """What the slash commands use: the person's data and preferences, a conversation's
    reset, and the owner's approval of a pairing code."""

    async def set_preference(self, person_id: PersonId, key: str, value: str | None) -> None: ...
    async def reset(self, key: ConversationKey) -> None: ...
    async def approve(self, bot: str, code: str) -> Pairing | None: ...


class ChannelReader(Protocol):
    """What a channel reads (its writes go through ``submit``): a message's delivery state,
    a conversation as the person saw it, who a sender is, the proposals under a reply."""

    async def delivery(self, inbound_id: InboundId) -> Delivery | None: ...
    async def history(self, key: ConversationKey, after_seq: int, limit: int) -> list[Turn]: ...
    async def transcript(self, key: ConversationKey, limit: int) -> list[Turn]: ...
    async def person_for(self, channel: str, sender: Sender) -> PersonId: ...

    @property
    def actions(self) -> ActionReader: ...


class Store(Lifecycle, InboxStore, DeliveryStore, PeopleStore, ConversationStore, Protocol):
    """Every role on one database (so a turn's writes commit together). The roles are
    small Protocols; code that needs one role asks for that role."""

    # long-term memories, identities and linking (core/memory), on the same database
    @property
    def memories(self) -> MemoryStore: ...

    # scheduled turns (reminders, briefings), on the same database
    @property
    def schedule(self) -> ScheduleStore: ...

    # per-person lists (core/lists), on the same database
    @property
    def lists(self) -> ListStore: ...

    # durable side-effect actions (core/actions), on the same database
    @property
    def actions(self) -> ActionStore: ...

    # offers made from what the person said (core/offers), on the same database
    @property
    def offers(self) -> OfferStore: ...

    # people's own calendars, linked with /calendar connect (core/calendar/links.py)
    @property
    def calendar_links(self) -> CalendarLinks: ...

    def atomically(self) -> AbstractAsyncContextManager[Store]:
        """The Store on one transaction (see :meth:`PersonStore.atomically`)."""
        ...
