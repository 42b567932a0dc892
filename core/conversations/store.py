"""What conversations need from a database (``sqlite`` and ``postgres`` implement it)."""

from __future__ import annotations

from typing import Protocol

from core.conversations.model import ConversationState, Turn
from core.events import ConversationKey
from core.provenance import Origin


class ConversationStore(Protocol):
    """A conversation's state and turns. Turns are written by the inbox's commit, with their
    message's status (``core.inbox.store.TurnCommit``)."""

    async def conversation(self, key: ConversationKey) -> ConversationState: ...
    async def turn_count(self, key: ConversationKey) -> int: ...
    async def history(self, key: ConversationKey, after_seq: int, limit: int) -> list[Turn]: ...
    async def recent(self, key: ConversationKey,
                     limit: int) -> tuple[ConversationState, list[Turn]]:
        """``conversation`` and its ``history`` after its summary, in one read (a prompt)."""
        ...

    async def transcript(self, key: ConversationKey, limit: int) -> list[Turn]: ...
    async def set_summary(
        self, key: ConversationKey, epoch: int, summary: str, upto_seq: int, origin: Origin,
    ) -> None: ...
    async def reset(self, key: ConversationKey) -> None: ...
    async def forget(self, key: ConversationKey) -> int: ...
