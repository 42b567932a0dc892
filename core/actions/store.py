"""What the actions need from a database (``sqlite`` and ``postgres`` implement it)."""

from __future__ import annotations

from typing import Protocol

from core.actions.model import Action, ActionKey, State
from core.ids import ConversationKey, InboundId, PersonId


class ActionReader(Protocol):
    """The open proposals a channel shows under a reply or on a page."""

    async def proposals(self, conversation: ConversationKey,
                        person_id: PersonId) -> list[Action]:
        """The open proposals for this person in this conversation, newest first."""
        ...

    async def made_by(self, inbound_id: InboundId) -> list[Action]:
        """The open proposals one message's turn made, in call order (for a platform's
        controls under the reply)."""
        ...


class ActionStore(ActionReader, Protocol):
    async def get(self, key: ActionKey) -> Action | None: ...

    async def record(self, action: Action) -> Action:
        """Insert ``action`` unless its key exists; return the stored record either way."""
        ...

    async def save(self, action: Action, was: State, was_started: bool) -> bool:
        """Write ``action`` if the stored one is still in state ``was`` (and ``started`` as
        ``was_started``): False when another run changed it first."""
        ...

    async def interrupted(self, conversation: ConversationKey,
                          person_id: PersonId) -> list[Action]:
        """The person's approved proposals here whose run did not finish (a crash while
        doing them): the resumed turn of their yes finishes them."""
        ...

    async def delete_person(self, person_id: PersonId) -> int:
        """Every action of the person (/forget all): their words are in its arguments."""
        ...

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        """The person's actions whose arguments, summary or result hold ``words``."""
        ...
