"""Sending to a room: rate limits honoured through the kit's retry policy; a streamed reply is
shown by the kit's send-then-edit streamer on a :class:`MatrixSurface`."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable
from typing import Any, Protocol

from nio import AsyncClient, ErrorResponse, RoomSendResponse

from adapters.kit import PlatformError, matrix_retry_after, retrying
from adapters.kit.stream import TextSource
from adapters.matrix.render import edit_content, message_content, with_relation
from core.ids import PlatformMessageId
from core.logging import get_logger

log = get_logger("kith.matrix")
DEFAULT_WAIT = 2.0
MAX_ATTEMPTS = 8


class SendError(RuntimeError):
    pass


def rate_limit_wait(resp: ErrorResponse) -> float | None:
    """Seconds to wait when ``resp`` is a rate limit (``M_LIMIT_EXCEEDED``, also nested, or
    HTTP 429), else None."""
    transport = getattr(resp, "transport_response", None)
    limited = resp.status_code == "M_LIMIT_EXCEEDED" or getattr(transport, "status", 0) == 429
    wait = matrix_retry_after(resp.status_code, resp.message, resp.retry_after_ms)
    if wait is None and not limited:
        return None
    return DEFAULT_WAIT if wait is None else wait


class Outbox:
    """Every message the bot sends goes through :meth:`send`."""

    def __init__(self, client: AsyncClient, prepare: Callable[[str], Awaitable[None]],
                 max_wait: float = 120.0) -> None:
        self.client = client
        self.prepare = prepare  # key queries / device trust before an encrypted send
        self.max_wait = max_wait
        self.sent: dict[str, None] = {}  # ids of our recent events, insertion ordered
        self.rate_limited = 0

    async def send(self, room_id: str, content: dict[str, Any]) -> PlatformMessageId:
        await self.prepare(room_id)
        tx_id = uuid.uuid4().hex  # the same id on every retry: the server dedupes

        async def attempt() -> PlatformMessageId:
            resp = await self.client.room_send(room_id, "m.room.message", content,
                                               tx_id=tx_id, ignore_unverified_devices=True)
            if isinstance(resp, RoomSendResponse):
                return PlatformMessageId(str(resp.event_id))
            wait = rate_limit_wait(resp)
            status = getattr(getattr(resp, "transport_response", None), "status", 0) or 0
            if wait is not None:
                self.rate_limited += 1
                log.warning("matrix_rate_limited", retry_after=wait)
                raise PlatformError("rate limited", status=429, retry_after=wait)
            if status >= 500:
                raise PlatformError(f"send failed: HTTP {status}", status=status)
            raise SendError(f"send failed: {resp.status_code} {resp.message}")

        try:
            event_id: PlatformMessageId = await retrying(attempts=MAX_ATTEMPTS,
                                           max_wait=self.max_wait)(attempt)
        except PlatformError as err:
            raise SendError(f"send failed: {err}") from err
        self._remember(event_id)
        return event_id

    def _remember(self, event_id: str) -> None:
        self.sent[event_id] = None
        while len(self.sent) > 10_000:
            del self.sent[next(iter(self.sent))]


class Sends(Protocol):
    async def send(self, room_id: str, content: dict[str, Any]) -> PlatformMessageId: ...


class MatrixSurface:
    """One reply's events in one room, for :class:`adapters.kit.StreamEdit`: the first
    is a reply (or in a thread), later text is ``m.replace`` edits."""

    def __init__(self, outbox: Sends, room_id: str, *, reply_to: PlatformMessageId | None,
                 thread: str | None) -> None:
        self.outbox = outbox
        self.room_id = room_id
        self.reply_to = reply_to
        self.thread = thread

    async def send(self, text: TextSource, first: bool) -> tuple[PlatformMessageId, str]:
        chunk = text()
        content = with_relation(message_content(chunk),
                                reply_to=self.reply_to if first else None, thread=self.thread)
        return await self.outbox.send(self.room_id, content), chunk

    async def edit(self, message_id: PlatformMessageId, text: TextSource) -> str | None:
        chunk = text()
        await self.outbox.send(self.room_id, edit_content(message_id, chunk))
        return chunk
