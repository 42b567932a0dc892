"""Telegram: private chats and group mentions, webhook or long polling, streamed replies.

``to_inbound`` (pure decoding and addressing rules) lives in :mod:`adapters.telegram.decode`,
Markdown rendering and splitting in :mod:`adapters.telegram.render`, rate limits and
streaming in :mod:`adapters.telegram.send`, the channel class in :mod:`adapters.telegram.channel`.
"""

from __future__ import annotations

from adapters.base import ChannelSpec
from adapters.telegram.channel import TelegramChannel, build
from adapters.telegram.config import TelegramConfig
from adapters.telegram.decode import Policy, to_inbound

SPEC = ChannelSpec(config=TelegramConfig, build=build)

__all__ = ["SPEC", "Policy", "TelegramChannel", "TelegramConfig", "to_inbound"]
