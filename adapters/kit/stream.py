"""The throttled send-then-edit streamer shared by Telegram and Matrix.

A reply is shown as one message sent once, then edited in place as text streams in (more
messages past the platform's length limit; only the last one keeps changing). Three rules:

* **Text is taken when the call goes out.** A surface waits for its rate limits first and
  only then asks for the text, so a message sent after a wait carries everything that
  arrived meanwhile instead of stale text that needs one more edit a slot later.
* **The first send waits** until the reply is complete or ``hold_first`` seconds after its
  first text: a reply that completes within that time is one message and one call, and a
  phone does not buzz with "He".
* **Edits are throttled** to one per ``interval`` while the reply streams; the final text
  goes out as soon as the reply is done.

Messages already showing part of the reply (``reply.shown``, from before a crash or a failed
delivery) are edited, not sent again; each new message's id is reported at once through
``reply.sent``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Protocol

from core.ids import PlatformMessageId
from core.reply import Reply

TextSource = Callable[[], str]


class Surface(Protocol):
    """One platform's messages. Both calls wait for rate limits *before* calling ``text()``
    and return the text that actually went out."""

    async def send(self, text: TextSource, first: bool) -> tuple[PlatformMessageId, str]:
        """Post a new message; (its platform id, the text sent)."""
        ...

    async def edit(self, message_id: PlatformMessageId, text: TextSource) -> str | None:
        """Replace a message's text; the text sent, or None when the message is gone."""
        ...


class StreamEdit:
    def __init__(self, surface: Surface, reply: Reply, *, limit: int, interval: float,
                 hold_first: float, split: Callable[[str, int], list[str]],
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.surface = surface
        self.reply = reply
        self.limit = limit
        self.interval = interval
        self.hold_first = hold_first
        self.split = split
        self.clock = clock
        self.ids: list[PlatformMessageId] = list(reply.shown)
        self.shown: list[str | None] = [None] * len(self.ids)  # None: unknown, edit it
        self.source = ""
        self.calls = 0
        self.edits = 0
        self.first_sent = asyncio.Event()
        self._changed = asyncio.Event()

    async def run(self) -> tuple[PlatformMessageId, ...]:
        """Show the whole reply; the ids of its messages. Platform errors propagate."""
        pump = asyncio.create_task(self._pump())
        try:
            await self._loop(pump)
        finally:
            if not pump.done():
                pump.cancel()
        pump.result()  # the producer's error, if any
        return tuple(self.ids)

    async def _pump(self) -> None:
        try:
            async for piece in self.reply:
                self.source += piece
                self._changed.set()
        finally:
            self._changed.set()

    async def _loop(self, pump: asyncio.Task[None]) -> None:
        first_text: float | None = None
        while True:
            if not pump.done():
                await self._changed.wait()
            self._changed.clear()
            if pump.done() and pump.exception() is not None:
                return
            if not self.source.strip():
                if pump.done():
                    return
                continue
            if not self.ids and not pump.done():
                first_text = first_text if first_text is not None else self.clock()
                left = self.hold_first - (self.clock() - first_text)
                if left > 0:
                    await asyncio.wait([pump], timeout=left)
            await self._sync()
            if pump.done() and self._current():
                return
            if not pump.done():
                await asyncio.wait([pump], timeout=self.interval)

    def _chunk(self, index: int) -> str:
        chunks = self.split(self.source, self.limit)
        return chunks[index] if index < len(chunks) else ""

    def _current(self) -> bool:
        chunks = self.split(self.source, self.limit)
        return len(self.ids) >= len(chunks) and all(
            self.shown[i] == chunk for i, chunk in enumerate(chunks))

    async def _sync(self) -> None:
        index = 0
        while index < len(self.split(self.source, self.limit)):
            if index < len(self.ids):
                if self.shown[index] != self._chunk(index):
                    await self._edit(index)
            else:
                await self._send(index)
            index += 1

    async def _send(self, index: int) -> None:
        message_id, text = await self.surface.send(lambda: self._chunk(index),
                                                   first=not self.ids)
        self.calls += 1
        self.ids.append(message_id)
        self.shown.append(text)
        self.first_sent.set()
        await self.reply.sent(tuple(self.ids))

    async def _edit(self, index: int) -> None:
        text = await self.surface.edit(self.ids[index], lambda: self._chunk(index))
        self.calls += 1
        if text is None:  # the message is gone (deleted): continue in a new one
            del self.ids[index:]
            del self.shown[index:]
            await self.reply.sent(tuple(self.ids))
            await self._send(index)
            return
        self.edits += 1
        self.shown[index] = text
        self.first_sent.set()
