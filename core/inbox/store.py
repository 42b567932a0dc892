"""What the inbox needs from a database (``sqlite`` and ``postgres`` implement it)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from core.conversations.model import TurnRecord
from core.events import ConversationKey, Inbound
from core.ids import InboundId, PlatformMessageId
from core.inbox.model import Delivery, InboxStatus


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


class TurnCommit(Protocol):
    """The lifecycle's commit: a finished turn's rows and its message's new status, together
    or not at all. ``fence``: the lease token the commit needs (replicas), None in one
    process (see core.coordination.TurnLeases); a fenced commit whose lease was taken
    raises LeaseLost and writes nothing."""

    async def finish_turn(self, record: TurnRecord, status: InboxStatus, *,
                          fence: int | None) -> None: ...


class Ledger(DeliveryStore, TurnCommit, Protocol):
    """What the driver reads and writes of a message: its delivery state and its commit."""
