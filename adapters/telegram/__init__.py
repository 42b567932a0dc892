"""Telegram: private chats and group mentions, webhook or long polling, streamed replies.

``to_inbound`` (pure decoding and addressing rules) lives in :mod:`adapters.telegram.decode`,
Markdown rendering and splitting in :mod:`adapters.telegram.render`, rate limits and
streaming in :mod:`adapters.telegram.send`, the channel class in :mod:`adapters.telegram.channel`.
"""

from __future__ import annotations

from adapters.base import ChannelSpec
from adapters.kit import probe as kit_probe
from adapters.telegram.channel import TelegramChannel, build
from adapters.telegram.config import TelegramConfig
from adapters.telegram.decode import Policy, to_inbound


async def probe(config: TelegramConfig) -> str | None:
    """getMe: the Bot API answers and takes the token."""
    token = config.token.get_secret_value()
    answer = await kit_probe.get(f"{config.api_base_url.rstrip('/')}{token}/getMe")
    if isinstance(answer, str):
        return f"Bot API: {answer}"
    if answer.status_code in (401, 404):
        return "the Bot API rejects the token"
    if answer.status_code != 200:
        return f"Bot API: HTTP {answer.status_code} for getMe"
    return None


SPEC = ChannelSpec(config=TelegramConfig, build=build, probe=probe)

__all__ = ["SPEC", "Policy", "TelegramChannel", "TelegramConfig", "to_inbound"]
