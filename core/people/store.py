"""What people need from a database (``sqlite`` and ``postgres`` implement it)."""

from __future__ import annotations

from typing import Protocol

from core.events import Sender
from core.ids import PersonId
from core.people.model import Pairing, Person


class PeopleStore(Protocol):
    """People, their preferences, and pairing (unknown senders get a code the owner
    approves with /approve CODE)."""

    async def person_for(self, channel: str, sender: Sender) -> PersonId: ...
    async def identify(self, channel: str, sender: Sender) -> Person:
        """``person_for`` and that person's ``preferences``, in one read (a turn's start)."""
        ...

    async def preferences(self, person_id: PersonId) -> dict[str, str]: ...
    async def set_preference(self, person_id: PersonId, key: str, value: str | None) -> None: ...
    async def pairing(self, bot: str, channel: str, sender: Sender) -> Pairing: ...
    async def approve(self, bot: str, code: str) -> Pairing | None: ...
