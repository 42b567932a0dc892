"""Calling the Bot API politely: rate limits, 429 ``retry_after``, transient retries, and
streaming a reply as one message edited in place (more messages past 4,096 characters)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, TypeVar

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from adapters.telegram.render import split_text, to_html
from core.logging import get_logger

log = get_logger("kith.telegram")
T = TypeVar("T")
MAX_RETRY_AFTER = 300.0
NO_PREVIEW = LinkPreviewOptions(is_disabled=True)


class Undeliverable(Exception):
    """The Bot API kept failing after every retry."""


class Limiter:
    """Spaces calls: globally, and per chat. ``wait`` reserves the next free slot."""

    def __init__(self, per_second: float) -> None:
        self.gap = 1.0 / per_second
        self._next: dict[object, float] = {}

    async def wait(self, key: object, gap: float) -> None:
        now = time.monotonic()
        slot = max(now, self._next.get(key, 0.0))
        self._next[key] = slot + gap
        if slot > now:
            await asyncio.sleep(slot - now)

    def hold(self, key: object, seconds: float) -> None:
        """Nothing goes to ``key`` for ``seconds`` (after a 429)."""
        self._next[key] = max(self._next.get(key, 0.0), time.monotonic() + seconds)


def retry_seconds(err: RetryAfter) -> float:
    value: Any = err.retry_after
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    return min(max(seconds, 0.0), MAX_RETRY_AFTER)


class Caller:
    """Runs Bot API calls with limits and retries. 429s never count against attempts."""

    def __init__(self, per_second: float, max_attempts: int) -> None:
        self.limiter = Limiter(per_second)
        self.max_attempts = max_attempts
        self.calls = 0
        self.retries = 0

    async def __call__(self, chat: object, make: Callable[[], Awaitable[T]],
                       chat_gap: float = 0.0) -> T:
        failures = 0
        while True:
            await self.limiter.wait(chat, chat_gap)
            await self.limiter.wait("*", self.limiter.gap)
            self.calls += 1
            try:
                return await make()
            except RetryAfter as err:
                self.retries += 1
                wait = retry_seconds(err)
                self.limiter.hold(chat, wait)
                log.warning("telegram_flood_wait", seconds=wait)
            except (BadRequest, Forbidden, InvalidToken):
                raise
            except NetworkError as err:  # timeouts, 5xx, connection errors
                failures += 1
                self.retries += 1
                if failures >= self.max_attempts:
                    raise Undeliverable(str(err)) from err
                await asyncio.sleep(min(0.1 * 2 ** failures, 5.0))


@dataclass
class Outgoing:
    """One reply as it goes out: what each Telegram message shows now."""

    chat_id: int
    reply_to: int | None
    thread: int | None
    group: bool
    source: str = ""
    shown: list[str] = field(default_factory=list)  # Markdown source shown per message
    ids: list[int] = field(default_factory=list)
    edits: int = 0


class Streamer:
    def __init__(self, bot: Bot, caller: Caller, edit_gap: float, group_gap: float) -> None:
        self.bot = bot
        self.caller = caller
        self.edit_gap = edit_gap
        self.group_gap = group_gap

    def gap(self, out: Outgoing) -> float:
        return max(self.edit_gap, self.group_gap) if out.group else self.edit_gap

    async def sync(self, out: Outgoing) -> None:
        """Make the messages show ``out.source``: edit changed ones, send new ones."""
        for i, chunk in enumerate(split_text(out.source)):
            if not chunk.strip():
                continue
            if i < len(out.ids):
                if out.shown[i] != chunk:
                    await self._edit(out, i, chunk)
            else:
                out.ids.append(await self._send(out, chunk, first=not out.ids))
                out.shown.append(chunk)

    async def _send(self, out: Outgoing, chunk: str, first: bool) -> int:
        reply = (ReplyParameters(message_id=out.reply_to, allow_sending_without_reply=True)
                 if first and out.reply_to is not None else None)

        async def send(markup: bool) -> Message:
            return await self.bot.send_message(
                out.chat_id, to_html(chunk) if markup else chunk,
                parse_mode=ParseMode.HTML if markup else None, reply_parameters=reply,
                message_thread_id=out.thread, link_preview_options=NO_PREVIEW,
            )

        message = await self._with_fallback(out, send)
        return message.message_id

    async def _edit(self, out: Outgoing, index: int, chunk: str) -> None:
        async def edit(markup: bool) -> Any:
            return await self.bot.edit_message_text(
                to_html(chunk) if markup else chunk, chat_id=out.chat_id,
                message_id=out.ids[index], parse_mode=ParseMode.HTML if markup else None,
                link_preview_options=NO_PREVIEW,
            )

        try:
            await self._with_fallback(out, edit)
        except BadRequest as err:
            if "not modified" not in str(err).lower():
                raise
        out.shown[index] = chunk
        out.edits += 1

    async def _with_fallback(self, out: Outgoing,
                             call: Callable[[bool], Awaitable[T]]) -> T:
        try:
            return await self.caller(out.chat_id, lambda: call(True), self.gap(out))
        except BadRequest as err:
            text = str(err).lower()
            if "parse" not in text and "entit" not in text and "tag" not in text:
                raise
            log.warning("telegram_markup_rejected", error=str(err))
        return await self.caller(out.chat_id, lambda: call(False), self.gap(out))

    async def typing(self, chat_id: int, thread: int | None, every: float = 4.5) -> None:
        """Keep 'typing…' visible until cancelled; failures are not worth a retry."""
        while True:
            try:
                await self.bot.send_chat_action(chat_id, ChatAction.TYPING,
                                                message_thread_id=thread)
            except Exception as err:  # typing is best effort
                log.debug("telegram_typing_failed", error=str(err))
            await asyncio.sleep(every)
