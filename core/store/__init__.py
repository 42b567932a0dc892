"""Persistence: the :class:`Store` protocol and its implementations."""

from core.store.base import ConversationState, InboxStatus, Store, Turn

__all__ = ["ConversationState", "InboxStatus", "Store", "Turn"]
