"""The Store contract: every feature's role on one database. Every backend passes
``tests/contract``.

The features own their models and roles (``core.inbox``, ``core.conversations``,
``core.people``, ``core.memory`` …); this module composes them, and names them again for
code that imports them from here.
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from typing import Protocol

from core.actions.store import ActionReader, ActionStore
from core.calendar.links import CalendarLinks
from core.conversations.model import NO_MESSAGE as NO_MESSAGE
from core.conversations.model import ConversationState as ConversationState
from core.conversations.model import Turn as Turn
from core.conversations.model import TurnRecord as TurnRecord
from core.conversations.store import ConversationStore as ConversationStore
from core.events import ConversationKey, Sender
from core.ids import InboundId, PersonId
from core.inbox.model import OPEN_STATUSES as OPEN_STATUSES
from core.inbox.model import Delivery as Delivery
from core.inbox.model import InboxStatus as InboxStatus
from core.inbox.store import DeliveryStore as DeliveryStore
from core.inbox.store import InboxStore as InboxStore
from core.inbox.store import TurnCommit as TurnCommit
from core.lists.store import ListStore
from core.memory.model import MemoryStore
from core.offers.model import OfferStore
from core.people.model import Pairing as Pairing
from core.people.model import new_pairing_code as new_pairing_code
from core.people.store import PeopleStore as PeopleStore
from core.schedule.model import ScheduleStore


class Lifecycle(Protocol):
    async def open(self) -> None: ...
    async def close(self) -> None: ...
    async def healthy(self) -> bool: ...


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


class Store(Lifecycle, InboxStore, DeliveryStore, TurnCommit, PeopleStore, ConversationStore,
            Protocol):
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
