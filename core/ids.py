"""Identities: who and where, as small typed values made once at the edge.

An adapter's decoder (or a store reading its rows) makes these; the rest of Kith passes
them along and never parses one back out of a string it built itself.

- :data:`PersonId` — a person Kith knows (one per person across channels and linked
  identities); opaque, made by the people store.
- :data:`InboundId` — one incoming message, globally unique, the dedupe key
  (``<channel>:<bot>:<platform part>``); opaque to the core.
- :data:`PlatformMessageId` — the platform's own id of that message (a Telegram
  ``message_id``, a WhatsApp ``wamid``, a Matrix event id), set by the adapter's decoder
  so that delivering a reply needs no parsing of :data:`InboundId`.
- :class:`ConversationKey` — one conversation: it has structure (bot, channel, chat,
  thread), and ``str()`` is its stored form, read back with :meth:`ConversationKey.parse`
  only at the storage boundary.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NewType

PersonId = NewType("PersonId", str)
InboundId = NewType("InboundId", str)
PlatformMessageId = NewType("PlatformMessageId", str)


@dataclass(frozen=True, slots=True)
class ConversationKey:
    """One conversation: a bot, a channel, a chat and optionally a thread inside it."""

    bot: str
    channel: str
    chat_id: str
    thread: str | None = None

    def __post_init__(self) -> None:  # no thread is None, never "": str() and parse agree
        if self.thread == "":
            object.__setattr__(self, "thread", None)

    def __str__(self) -> str:
        base = f"{self.bot}/{self.channel}/{self.chat_id}"
        return f"{base}/{self.thread}" if self.thread else base

    @classmethod
    def parse(cls, text: str) -> ConversationKey:
        """The key ``str()`` stored; for the storage boundary only."""
        parts = text.split("/", 3)
        if len(parts) < 3:
            raise ValueError(f"not a conversation key: {text!r}")
        return cls(parts[0], parts[1], parts[2], parts[3] if len(parts) == 4 else None)
