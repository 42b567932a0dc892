"""A reply while it is being produced: adapters iterate it, the core records it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

from core.events import Inbound, Outbound, ReplyStatus


class Reply:
    """Iterate for text as it arrives; ``text``/``status`` are final once it is done.

    The producer is the agent's async generator; it persists the turn when it finishes,
    so the dispatcher always :meth:`drain`\\ s a reply, even when delivery failed. The
    producer runs as its own task and the consumer takes everything produced since it
    last looked: an idle system forwards every token at once, a busy one hands adapters
    fewer, larger pieces instead of falling behind token by token.
    """

    def __init__(self, inbound: Inbound) -> None:
        self.inbound = inbound
        self.status = ReplyStatus.OK
        self._parts: list[str] = []
        self._unread: list[str] = []
        self._source: AsyncIterator[str] | None = None
        self._pump: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._iterated = False

    def attach(self, source: AsyncIterator[str]) -> Reply:
        self._source = source
        return self

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def done(self) -> bool:
        return self._pump is not None and self._pump.done()

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

    async def drain(self) -> str:
        """Wait for the producer (delivery may have failed or stopped early)."""
        await self._start()
        self._unread.clear()
        return self.text

    def cancel(self) -> None:
        if self._pump is not None:
            self._pump.cancel()

    def outbound(self, platform_ids: tuple[str, ...] = ()) -> Outbound:
        return Outbound(
            conversation=self.inbound.conversation,
            in_reply_to=self.inbound.id,
            text=self.text,
            status=self.status,
            platform_ids=platform_ids,
        )
