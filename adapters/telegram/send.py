"""Calling the Bot API politely: the kit's retry policy (429 ``retry_after``, 5xx, network),
Telegram's rate limits (about 30 calls/s per bot, about one message per second per chat),
and the :class:`~adapters.kit.Surface` the shared streamer shows a reply on."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from telegram import Bot, LinkPreviewOptions, Message, ReplyParameters
from telegram.constants import ChatAction, ParseMode
from telegram.error import BadRequest, Forbidden, InvalidToken, NetworkError, RetryAfter

from adapters.kit import retry_after_of, retrying
from adapters.kit.stream import TextSource
from adapters.telegram.render import to_html
from core.ids import PlatformMessageId
from core.logging import get_logger

log = get_logger("kith.telegram")
T = TypeVar("T")
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


def transient(exc: BaseException) -> bool:
    """Timeouts, 5xx and connection errors (PTB raises NetworkError for all of them)."""
    return isinstance(exc, NetworkError) and not isinstance(exc, BadRequest)


class Caller:
    """Runs Bot API calls within the limits, through the kit's retry policy.

    ``make`` is called after the limiter's wait, so whatever it reads is current when the
    call goes out. 429s never count against attempts; they hold the chat for retry_after.
    """

    def __init__(self, per_second: float, max_attempts: int) -> None:
        self.limiter = Limiter(per_second)
        self.max_attempts = max_attempts
        self.calls = 0
        self.retries = 0

    async def __call__(self, chat: object, make: Callable[[], Awaitable[T]],
                       chat_gap: float = 0.0) -> T:
        async def attempt() -> T:
            await self.limiter.wait(chat, chat_gap)
            await self.limiter.wait("*", self.limiter.gap)
            self.calls += 1
            return await make()

        def waiting(exc: BaseException, seconds: float) -> None:
            self.retries += 1
            if isinstance(exc, RetryAfter):
                self.limiter.hold(chat, seconds)
                log.warning("telegram_flood_wait", seconds=seconds)

        try:
            return await retrying(attempts=self.max_attempts, transient=transient,
                                  on_retry=waiting)(attempt)
        except (BadRequest, Forbidden, InvalidToken):
            raise
        except NetworkError as err:  # every attempt failed
            raise Undeliverable(str(err)) from err


@dataclass(frozen=True, slots=True)
class Target:
    chat_id: int
    thread: int | None
    reply_to: int | None  # the message the first one answers (groups)
    gap: float  # seconds between calls to this chat (edit interval)


class TelegramSurface:
    """One reply's messages in one chat, for :class:`adapters.kit.StreamEdit`."""

    def __init__(self, bot: Bot, caller: Caller, target: Target) -> None:
        self.bot = bot
        self.caller = caller
        self.target = target

    async def send(self, text: TextSource, first: bool) -> tuple[PlatformMessageId, str]:
        t = self.target
        reply = (ReplyParameters(message_id=t.reply_to, allow_sending_without_reply=True)
                 if first and t.reply_to is not None else None)
        taken: list[str] = []

        async def send(markup: bool) -> Message:
            chunk = text()  # after the limiter's wait: the text as it is now
            taken.append(chunk)
            return await self.bot.send_message(
                t.chat_id, to_html(chunk) if markup else chunk,
                parse_mode=ParseMode.HTML if markup else None, reply_parameters=reply,
                message_thread_id=t.thread, link_preview_options=NO_PREVIEW,
            )

        message = await self._with_fallback(send)
        return PlatformMessageId(str(message.message_id)), taken[-1]

    async def edit(self, message_id: PlatformMessageId, text: TextSource) -> str | None:
        t = self.target
        taken: list[str] = []

        async def edit(markup: bool) -> Any:
            chunk = text()
            taken.append(chunk)
            return await self.bot.edit_message_text(
                to_html(chunk) if markup else chunk, chat_id=t.chat_id,
                message_id=int(message_id), parse_mode=ParseMode.HTML if markup else None,
                link_preview_options=NO_PREVIEW,
            )

        try:
            await self._with_fallback(edit)
        except BadRequest as err:
            reason = str(err).lower()
            if "not found" in reason:
                return None
            if "not modified" not in reason:
                raise
        return taken[-1]

    async def _with_fallback(self, call: Callable[[bool], Awaitable[T]]) -> T:
        gap = self.target.gap
        try:
            return await self.caller(self.target.chat_id, lambda: call(True), gap)
        except BadRequest as err:
            text = str(err).lower()
            if "parse" not in text and "entit" not in text and "tag" not in text:
                raise
            log.warning("telegram_markup_rejected", error=str(err))
        return await self.caller(self.target.chat_id, lambda: call(False), gap)


async def typing(bot: Bot, chat_id: int, thread: int | None, every: float = 4.5) -> None:
    """Keep 'typing…' visible until cancelled; failures are not worth a retry."""
    while True:
        try:
            await bot.send_chat_action(chat_id, ChatAction.TYPING, message_thread_id=thread)
        except Exception as err:  # typing is best effort
            log.debug("telegram_typing_failed", error=str(err))
        await asyncio.sleep(every)


def retry_seconds(err: RetryAfter) -> float:
    """Seconds Telegram asked us to wait (capped by the kit's policy)."""
    return min(max(retry_after_of(err) or 0.0, 0.0), 300.0)
