"""What the lists need from a database (``sqlite`` and ``postgres`` implement it)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from core.ids import PersonId
from core.lists.model import ListItem


class ListReader(Protocol):
    """Reading a person's lists (a briefing, an export, /list)."""

    async def items(self, person_id: PersonId, name: str | None = None,
                    include_done: bool = False) -> list[ListItem]: ...


class ListStore(ListReader, Protocol):
    async def add_items(self, person_id: PersonId, name: str, items: Sequence[str],
                        now: datetime) -> list[str]:
        """Add the items not on the list yet; return those added."""
        ...

    async def check_off(self, person_id: PersonId, name: str, items: Sequence[str]) -> list[str]:
        """Mark items done; an item matches by its words ("milk" ticks "oat milk")."""
        ...

    async def delete_person(self, person_id: PersonId) -> int: ...

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        """The person's list items (done ones too) holding ``words`` (/forget TEXT)."""
        ...
