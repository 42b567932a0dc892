"""Sending to a room: rate limits honoured, streamed replies as a first send then edits."""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from nio import AsyncClient, ErrorResponse, RoomSendResponse

from adapters.matrix.decode import retry_after_ms
from adapters.matrix.render import edit_content, message_content, split_text, with_relation
from core.logging import get_logger

log = get_logger("kith.matrix")
DEFAULT_WAIT_MS = 2_000
MAX_ATTEMPTS = 8
FIRST_SEND_CHARS = 40


class SendError(RuntimeError):
    pass


def rate_limit_wait(resp: ErrorResponse) -> int | None:
    """Milliseconds to wait when ``resp`` is a rate limit, else None."""
    transport = getattr(resp, "transport_response", None)
    limited = resp.status_code == "M_LIMIT_EXCEEDED" or getattr(transport, "status", 0) == 429
    wait = retry_after_ms(resp.status_code, resp.message, resp.retry_after_ms)
    if wait is None and not limited:
        return None
    return DEFAULT_WAIT_MS if wait is None else wait


class Outbox:
    """Every message the bot sends goes through :meth:`send` (one per room at a time)."""

    def __init__(self, client: AsyncClient, prepare: Callable[[str], Awaitable[None]],
                 max_wait: float = 120.0) -> None:
        self.client = client
        self.prepare = prepare  # key queries / device trust before an encrypted send
        self.max_wait = max_wait
        self.sent: dict[str, None] = {}  # ids of our recent events, insertion ordered
        self.rate_limited = 0

    async def send(self, room_id: str, content: dict[str, Any]) -> str:
        await self.prepare(room_id)
        tx_id = uuid.uuid4().hex  # the same id on every retry: the server dedupes
        for _ in range(MAX_ATTEMPTS):
            resp = await self.client.room_send(room_id, "m.room.message", content, tx_id=tx_id,
                                               ignore_unverified_devices=True)
            if isinstance(resp, RoomSendResponse):
                self._remember(resp.event_id)
                return str(resp.event_id)
            wait = rate_limit_wait(resp)
            if wait is None:
                raise SendError(f"send failed: {resp.status_code} {resp.message}")
            self.rate_limited += 1
            log.warning("matrix_rate_limited", retry_after_ms=wait)
            await asyncio.sleep(min(wait / 1000, self.max_wait))
        raise SendError("send failed: still rate limited")

    def _remember(self, event_id: str) -> None:
        self.sent[event_id] = None
        while len(self.sent) > 10_000:
            del self.sent[next(iter(self.sent))]


class Sends(Protocol):
    async def send(self, room_id: str, content: dict[str, Any]) -> str: ...


class StreamedReply:
    """A reply shown while it streams: sent on the first text, then edited (throttled).

    Text longer than one message continues in new messages; only the last one is edited.
    """

    def __init__(self, outbox: Sends, room_id: str, *, reply_to: str | None,
                 thread: str | None, interval: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.outbox = outbox
        self.room_id = room_id
        self.reply_to = reply_to
        self.thread = thread
        self.interval = interval
        self.clock = clock
        self.event_ids: list[str] = []
        self._shown: list[str] = []
        self._last_edit = 0.0
        self._started: float | None = None

    async def update(self, text: str, final: bool = False) -> None:
        if not text.strip():
            return
        if not self.event_ids and not final:
            # Hold the first send until there is something worth a notification: a phone
            # should not buzz with "He". Fast replies then land as one event, no edits.
            if self._started is None:
                self._started = self.clock()
            if len(text) < FIRST_SEND_CHARS and self.clock() - self._started < self.interval:
                return
        chunks = split_text(text)
        for index, chunk in enumerate(chunks):
            if index >= len(self.event_ids):
                await self._send_new(chunk)
            elif chunk != self._shown[index]:
                settled = index < len(chunks) - 1
                if final or settled or self.clock() - self._last_edit >= self.interval:
                    await self._edit(index, chunk)

    async def _send_new(self, chunk: str) -> None:
        first = not self.event_ids
        content = with_relation(message_content(chunk),
                                reply_to=self.reply_to if first else None, thread=self.thread)
        self.event_ids.append(await self.outbox.send(self.room_id, content))
        self._shown.append(chunk)
        self._last_edit = self.clock()

    async def _edit(self, index: int, chunk: str) -> None:
        await self.outbox.send(self.room_id, edit_content(self.event_ids[index], chunk))
        self._shown[index] = chunk
        self._last_edit = self.clock()
