"""People's own calendars, linked with ``/calendar connect``: what is stored, and its Protocol.

A link holds the CalDAV address, the username and the password sealed by
:class:`core.vault.Vault` (never the password itself). While Kith waits for the password
(the message after ``/calendar connect``) an :class:`Asking` row says so; the message that
answers it is consumed in one transaction that stores the link (or not), ends the asking
and replaces the message's text in the inbox (:data:`SCRUBBED`), so the password is kept
nowhere in clear, not even for a resumed turn.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from core.ids import ConversationKey, InboundId, PersonId

ASK_FOR = timedelta(minutes=10)  # how long the next message is taken as the password
SCRUBBED = "(a message with a password: I removed its text)"


def purpose(person_id: PersonId) -> str:
    """What a link's sealed password is bound to (associated data)."""
    return f"calendar:{person_id}"


@dataclass(frozen=True, slots=True)
class Asking:
    person_id: PersonId
    conversation: ConversationKey  # the private chat where the password is expected
    url: str
    username: str
    asked_at: datetime


@dataclass(frozen=True, slots=True)
class Link:
    person_id: PersonId
    url: str
    username: str
    sealed: bytes  # the password, sealed for purpose(person_id)
    linked_at: datetime


class LinkReader(Protocol):
    """Whether, and where, a person linked their calendar (never its password's use)."""

    async def link(self, person_id: PersonId) -> Link | None: ...


class CalendarLinks(Protocol):
    """The links and the askings, per person (one of each at most)."""

    async def ask(self, asking: Asking) -> None:
        """Wait for this person's password (replacing an earlier asking)."""
        ...

    async def asking(self, person_id: PersonId) -> Asking | None: ...

    async def consume(self, person_id: PersonId, inbound_id: InboundId, link: Link | None) -> None:
        """One transaction: the asking ends, ``link`` (if any) replaces the person's link,
        and the text of the inbox message ``inbound_id`` becomes :data:`SCRUBBED`."""
        ...

    async def link(self, person_id: PersonId) -> Link | None: ...

    async def unlink(self, person_id: PersonId) -> bool:
        """Delete the link and any asking for real (SQLite: secure_delete, the WAL
        checkpointed away); True when there was a link."""
        ...
