"""Offers as values, the rules that decide them (pure), and the OfferStore role.

An offer is made from a commitment the batched extraction found in the person's own words.
It waits as a scheduled turn (kind ``offer``) until it may be sent (now, or when their quiet
hours end); when that turn comes due it becomes a *proposed* action (``create_reminder`` or
``create_event``) with the platform's yes/no controls. Nothing is ever created without
their yes. Each commitment is offered once (``fingerprint``), at most ``MAX_PER_DAY`` a day,
never for a time already past, and a kind declined ``DECLINES_TO_STOP`` times is not
offered again.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Protocol

from core.events import Inbound
from core.ids import ConversationKey, InboundId, PersonId
from core.schedule.times import zone

MAX_PER_DAY = 3  # offers sent to one person in one local day
DECLINES_TO_STOP = 3  # declines of one kind, then that kind is not offered again
EVENT_LEAD = timedelta(minutes=30)  # an appointment's reminder comes this long before it
MORNING = time(9)  # a plan with a day but no time is reminded of that morning


class OfferKind(StrEnum):
    REMINDER = "reminder"
    EVENT = "event"


class OfferState(StrEnum):
    WAITING = "waiting"  # scheduled to be sent
    OFFERED = "offered"  # sent as a proposed action; its answer is the action's state
    DROPPED = "dropped"  # not sent (past, declined kind, daily limit, no tool)


@dataclass(frozen=True, slots=True)
class Offer:
    person_id: PersonId
    fingerprint: str  # one commitment: offered once, whatever later batches say of it
    kind: OfferKind  # what the extraction said; what was offered once sent
    what: str
    when: datetime  # UTC; a plan with no time said: midnight local of its day
    timed: bool
    conversation: ConversationKey  # where it was said, and where it is offered
    source: InboundId  # the message it was said in
    schedule_id: str  # the scheduled turn that sends it
    state: OfferState
    created_at: datetime
    offered_at: datetime | None = None
    action: str = ""  # the offer's action key's inbound id (the scheduled turn's id)


def fingerprint(day: date, at: time | None, what: str) -> str:
    """A timed plan is known by its minute; a day-only one by its day and first words."""
    if at is not None:
        return f"{day.isoformat()}T{at:%H:%M}"
    words = re.findall(r"\w+", what.casefold())[:3]
    return f"{day.isoformat()}|{' '.join(words)}"


def local_when(day: date, at: time | None, tz_name: str) -> datetime:
    return datetime.combine(day, at or time(0), zone(tz_name)).astimezone(UTC)


def remind_at(offer: Offer, kind: OfferKind, tz_name: str) -> datetime:
    """When the offered reminder would fire (an event offer: when the event starts)."""
    if not offer.timed:
        day = offer.when.astimezone(zone(tz_name)).date()
        return datetime.combine(day, MORNING, zone(tz_name)).astimezone(UTC)
    if kind is OfferKind.EVENT or offer.kind is OfferKind.REMINDER:
        return offer.when
    return offer.when - EVENT_LEAD  # an appointment, as a reminder: a little before it


def drop_reason(*, at: datetime, now: datetime, declined: int, offered_today: int,
                has_tool: bool) -> str | None:
    """Why an offer due now is not sent, or None to send it."""
    if at <= now:
        return "past"
    if declined >= DECLINES_TO_STOP:
        return "declined"
    if offered_today >= MAX_PER_DAY:
        return "daily_limit"
    if not has_tool:
        return "no_tool"
    return None


class OfferStore(Protocol):
    async def source(self, inbound_id: InboundId) -> Inbound | None:
        """The message a commitment was said in, as the inbox recorded it (its quoted and
        forwarded parts tell where its words came from); None when it is gone."""
        ...

    async def add(self, offer: Offer) -> bool:
        """Keep a new offer; False when this person's commitment was known already."""
        ...

    async def known(self, person_id: PersonId, fingerprint: str) -> bool: ...

    async def by_schedule(self, schedule_id: str) -> Offer | None: ...

    async def reschedule(self, offer: Offer, schedule_id: str) -> None: ...

    async def settle(self, offer: Offer, state: OfferState, kind: OfferKind, at: datetime,
                     action: str) -> None:
        """Record that it was sent (``action``: its action's inbound id) or dropped."""
        ...

    async def declined(self, person_id: PersonId, kind: OfferKind) -> int:
        """How many offers of ``kind`` the person declined (their actions' state)."""
        ...

    async def offered_between(self, person_id: PersonId, start: datetime, end: datetime) -> int: ...

    async def delete_person(self, person_id: PersonId) -> int: ...

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        """The person's offers whose words hold ``words`` (/forget TEXT)."""
        ...
