"""Scheduled turns as values, the pure rules both backends apply, and the ScheduleStore role."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Protocol

from core.events import Addressed, ConversationKey, Inbound, ScheduledTurn
from core.ids import InboundId, PersonId
from core.logging import get_logger
from core.schedule.times import TimeError, next_occurrence

log = get_logger("kith.schedule")


class Kind(StrEnum):
    REMINDER = "reminder"
    BRIEFING = "briefing"
    OFFER = "offer"  # an offer from something the person said (core/offers), held until due
    EVENT = "event_reminder"  # a message before a calendar event (/prefs event_reminder)
    EVENT_SYNC = "event_sync"  # says nothing: reads the calendar to keep EVENT rows current


@dataclass(frozen=True, slots=True)
class Schedule:
    id: str  # short, shown to the person: r1a2b3c
    person_id: PersonId
    kind: Kind
    conversation: ConversationKey  # where it was set, and where it is delivered
    text: str
    timezone: str
    rule: str | None  # RRULE when it repeats
    anchor: datetime  # naive local time the rule starts from (the first occurrence)
    due_at: datetime  # next occurrence, UTC
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewSchedule:
    person_id: PersonId
    kind: Kind
    origin: Inbound  # the message that set it: conversation, sender, trust, chat kind
    text: str
    timezone: str
    rule: str | None
    due_at: datetime  # first occurrence (aware)
    anchor: datetime  # naive local time of the first occurrence


def origin_template(inbound: Inbound) -> Inbound:
    """What is kept of the message that set a schedule: where and who, never its words."""
    return replace(inbound, text="", quoted=(), attachments=(), reply_to=None, raw=None,
                   scheduled=None, platform_message_id=None)


def occurrence(origin: Inbound, schedule_id: str, kind: Kind, text: str, due_at: datetime,
               timezone: str, now: datetime) -> Inbound:
    """The Inbound of one occurrence. Its id is fixed by the occurrence: the dedupe key."""
    return replace(
        origin, id=InboundId(f"schedule:{schedule_id}:{int(due_at.timestamp())}"), text="",
        received_at=now, addressed=Addressed.DIRECT,
        scheduled=ScheduledTurn(schedule_id, kind.value, text, due_at, timezone),
    )


def next_after(item: Schedule, now: datetime) -> datetime | None:
    """The occurrence after this one (None: it was the last, or its rule fails)."""
    if item.rule is None:
        return None
    try:
        return next_occurrence(item.rule, item.anchor, item.timezone, max(now, item.due_at))
    except TimeError as err:
        log.error("schedule_rule_failed", schedule=item.id, error=str(err))
        return None


class ScheduleReader(Protocol):
    """A person's reminders and briefings, read (a briefing, an export)."""

    async def for_person(self, person_id: PersonId, kind: Kind | None = None) -> list[Schedule]: ...


class ScheduleStore(Protocol):
    async def add(self, new: NewSchedule, now: datetime) -> Schedule: ...
    async def get(self, schedule_id: str) -> Schedule | None: ...
    async def cancel(self, person_id: PersonId, schedule_id: str) -> Schedule | None: ...
    async def for_person(self, person_id: PersonId, kind: Kind | None = None) -> list[Schedule]: ...
    async def next_due(self) -> datetime | None: ...
    async def claim_due(self, now: datetime, limit: int) -> list[Inbound]: ...
    async def unsubmitted(self) -> list[Inbound]: ...
    async def mark_submitted(self, inbound_ids: Sequence[str]) -> None: ...
    async def delete_person(self, person_id: PersonId) -> int: ...
    async def delete_matching(self, person_id: PersonId, words: str) -> int: ...
    def subscribe(self, callback: Callable[[], None]) -> None: ...

