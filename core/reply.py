"""A reply while it is being produced: adapters iterate it, the core records it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import TYPE_CHECKING

from core.events import Inbound, Outbound, ReplyStatus
from core.ids import PlatformMessageId

if TYPE_CHECKING:
    from core.conversations.model import TurnRecord

Recorder = Callable[[tuple[PlatformMessageId, ...]], Awaitable[None]]
Committer = Callable[["TurnRecord"], Awaitable[None]]


class DeliveryError(Exception):
    """The platform did not accept a reply. ``permanent``: retrying cannot help (e.g. the
    person blocked the bot, WhatsApp's 24-hour window is closed); otherwise the dispatcher
    re-delivers the stored reply later, with backoff."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def span(seconds: float) -> str:
    """'an hour', '2 hours', 'a minute', '10 minutes' (pure; for what people are told)."""
    if seconds >= 3600:
        hours = round(seconds / 3600)
        return "an hour" if hours == 1 else f"{hours} hours"
    minutes = max(1, round(seconds / 60))
    return "a minute" if minutes == 1 else f"{minutes} minutes"


async def _once(text: str) -> AsyncIterator[str]:
    if text:
        yield text


class Reply:
    """Iterate for text as it arrives; ``text``/``status`` are final once it is done.

    The producer is the agent's async generator. Its outcome is the reply's ``status`` and,
    once the turn is recorded, its ``record``: the producer hands the record to
    :meth:`commit` before its last text is taken, and whoever runs the turn decides how it
    is written (the dispatcher: with the message's status, fenced by its lease). The
    producer runs as its own task and the consumer takes everything produced since it
    last looked: an idle system forwards every token at once, a busy one hands adapters
    fewer, larger pieces instead of falling behind token by token.
    """

    def __init__(self, inbound: Inbound, shown: Sequence[PlatformMessageId] = (),
                 recorder: Recorder | None = None) -> None:
        self.inbound = inbound
        self.status = ReplyStatus.OK
        # Platform messages already showing part of this reply (sent before a crash or a
        # failed delivery): a streaming channel edits them instead of sending new ones.
        self.shown: tuple[PlatformMessageId, ...] = tuple(shown)
        self._recorder = recorder
        self._committer: Committer | None = None
        self.record: TurnRecord | None = None  # the finished turn, once committed
        self._parts: list[str] = []
        self._unread: list[str] = []
        self._source: AsyncIterator[str] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._iterated = False

    def attach(self, source: AsyncIterator[str]) -> Reply:
        self._source = source
        return self

    @classmethod
    def stored(cls, inbound: Inbound, text: str, status: ReplyStatus,
               shown: Sequence[PlatformMessageId] = (), recorder: Recorder | None = None) -> Reply:
        """A reply already answered (kept in the store): re-delivered without the model."""
        reply = cls(inbound, shown, recorder)
        reply.status = status
        return reply.attach(_once(text))

    def on_sent(self, recorder: Recorder) -> None:
        self._recorder = recorder

    def on_commit(self, committer: Committer) -> None:
        """Who writes the finished turn (set before the reply is first read)."""
        self._committer = committer

    async def commit(self, record: TurnRecord) -> None:
        """The producer's finished turn: written by the committer (its error, e.g. a lost
        lease, ends the reply)."""
        self.record = record
        if self._committer is not None:
            await self._committer(record)

    async def sent(self, platform_ids: Sequence[PlatformMessageId]) -> None:
        """Adapters call this as soon as the platform created a message for this reply
        (all ids so far), so that after a crash the same messages are finished, not new
        ones sent."""
        self.shown = tuple(platform_ids)
        if self._recorder is not None:
            await self._recorder(self.shown)

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def done(self) -> bool:
        return self._pump is not None and self._pump.done()

    @property
    def error(self) -> BaseException | None:
        """The producer's exception once it is done (a crashed turn), else None."""
        if self._pump is None or not self._pump.done() or self._pump.cancelled():
            return None
        return self._pump.exception()

    def _start(self) -> asyncio.Task[None]:
        if self._pump is None:
            self._pump = asyncio.create_task(self._produce())
        return self._pump

    async def _produce(self) -> None:
        try:
            if self._source is not None:
                async for piece in self._source:
                    if piece:
                        self._parts.append(piece)
                        self._unread.append(piece)
                        self._wake.set()
        finally:
            self._wake.set()

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._iterated:
            raise RuntimeError("a reply can be iterated once; use drain() afterwards")
        self._iterated = True
        pump = self._start()
        while True:
            await self._wake.wait()
            self._wake.clear()
            if self._unread:
                chunk = "".join(self._unread)
                self._unread.clear()
                yield chunk
            if pump.done() and not self._unread:
                break
        pump.result()  # the producer's error, if any, reaches the consumer too

    async def finished(self) -> None:
        """Wait until the producer is done (without taking text from the consumer)."""
        await asyncio.wait([self._start()])

    async def started(self) -> None:
        """Wait until there is text or the producer is done (before anyone iterates)."""
        pump = self._start()
        while not self._parts and not pump.done():
            woken = asyncio.ensure_future(self._wake.wait())
            await asyncio.wait([pump, woken], return_when=asyncio.FIRST_COMPLETED)
            woken.cancel()

    async def drain(self) -> str:
        """Wait for the producer (delivery may have failed or stopped early)."""
        await self._start()
        self._unread.clear()
        return self.text

    def cancel(self) -> None:
        if self._pump is not None:
            self._pump.cancel()

    def outbound(self, platform_ids: tuple[PlatformMessageId, ...] = ()) -> Outbound:
        return Outbound(
            conversation=self.inbound.conversation,
            in_reply_to=self.inbound.id,
            text=self.text,
            status=self.status,
            platform_ids=platform_ids,
        )
