"""What the inbox keeps of a message: where it is in its life, and its delivery state."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from core.ids import PlatformMessageId


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
