"""What both WhatsApp providers share: who may talk, careful HTTP sends (the kit's policy)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Protocol

import httpx

from adapters.kit import PlatformError, http_retry_after, retrying
from core.events import Attachment, Inbound, Trust
from core.logging import get_logger
from core.media import Fetched, MediaTooLarge, MediaUnavailable
from core.store.base import ChannelReader

log = get_logger("kith.whatsapp")

MAX_ATTEMPTS = 4
MAX_RETRY_AFTER = 30.0


@dataclass(frozen=True, slots=True)
class Policy:
    """Default deny: owners and allowed numbers (E.164) are known, everyone else pairs."""

    owners: tuple[str, ...] = ()
    allowed: tuple[str, ...] = ()

    def trust(self, number: str) -> Trust:
        if number in self.owners:
            return Trust.OWNER
        if number in self.allowed:
            return Trust.ALLOWED
        return Trust.UNKNOWN


def describe(text: str, attachments: tuple[Attachment, ...]) -> str:
    """The message text; for a bare attachment a short marker so the model knows."""
    if text or not attachments:
        return text
    first = attachments[0]
    if first.kind == "location":
        return f"[shared a location: {first.name}]" if first.name else "[shared a location]"
    return f"[sent {'an' if first.kind[:1] in 'aeiou' else 'a'} {first.kind}]"


async def post_with_retry(
    call: Callable[[], Awaitable[httpx.Response]], what: str
) -> httpx.Response:
    """Run ``call`` through the kit's policy: 429 (honouring Retry-After), 5xx and network
    errors are retried; the answer is returned (the caller reads 4xx platform errors).
    Raises :class:`PlatformError` or ``httpx.TransportError`` when every attempt failed."""
    async def attempt() -> httpx.Response:
        response = await call()
        if response.status_code == 429 or response.status_code >= 500:
            raise PlatformError(f"{what}: HTTP {response.status_code}",
                                status=response.status_code,
                                retry_after=http_retry_after(response.headers))
        return response

    def waiting(err: BaseException, seconds: float) -> None:
        log.warning("whatsapp_send_retry", what=what, error=str(err) or type(err).__name__,
                    retry_in=round(seconds, 2))

    return await retrying(attempts=MAX_ATTEMPTS, max_wait=MAX_RETRY_AFTER,
                          on_retry=waiting)(attempt)


async def download_capped(client: httpx.AsyncClient, url: str, limit: int, what: str,
                          **request: object) -> Fetched:
    """GET a media file, streaming: refuse a stated size over ``limit`` before reading, and
    stop reading at ``limit`` bytes. 429/5xx/network errors: the kit's retry policy."""

    async def once() -> Fetched:
        async with client.stream("GET", url, **request) as response:  # type: ignore[arg-type]
            if response.status_code == 429 or response.status_code >= 500:
                raise PlatformError(f"{what}: HTTP {response.status_code}",
                                    status=response.status_code,
                                    retry_after=http_retry_after(response.headers))
            return await _read_capped(response, limit)

    try:
        return await retrying(attempts=MAX_ATTEMPTS, max_wait=MAX_RETRY_AFTER)(once)
    except (PlatformError, httpx.TransportError) as err:
        log.warning("whatsapp_media_failed", what=what, error=type(err).__name__)
        raise MediaUnavailable(f"{what}: the platform did not answer") from None


async def _read_capped(response: httpx.Response, limit: int) -> Fetched:
    if response.status_code != 200:
        raise MediaUnavailable(f"media download answered {response.status_code}")
    stated = response.headers.get("content-length", "")
    if stated.isdigit() and int(stated) > limit:
        raise MediaTooLarge(int(stated), limit)
    chunks: list[bytes] = []
    got = 0
    async for chunk in response.aiter_bytes():
        got += len(chunk)
        if got > limit:
            raise MediaTooLarge(None, limit)
        chunks.append(chunk)
    mime = response.headers.get("content-type", "").split(";")[0].strip()
    return Fetched(b"".join(chunks), mime)


def log_window_closed(conversation: str, provider: str, code: int | str) -> None:
    """The 24-hour customer-service window is closed: free-form replies are refused."""
    log.error(
        "whatsapp_window_closed", conversation=conversation, provider=provider, code=code,
        hint="more than 24 hours since this person last wrote; WhatsApp only allows "
             "pre-approved templates until they write again",
    )


def window_notice(number: str, what: str = "my reply") -> str:
    """What the owner is told when a reply could not be delivered (sent once per failure)."""
    return (f"I couldn't deliver {what} to {number}: WhatsApp only allows free-form "
            "messages within 24 hours of their last message. It will work again once "
            "they write to me.")


def error_code(response: httpx.Response, *path: str) -> str:
    """A platform error code from a JSON error body (``code`` or ``error.code``), or ''."""
    try:
        node: object = response.json()
        for key in path:
            node = node.get(key) if isinstance(node, dict) else None
    except ValueError:
        return ""
    return str(node) if isinstance(node, int | str) else ""


class SendText(Protocol):
    async def __call__(self, number: str, body: str, *, notify: bool = True) -> bool: ...


class WindowWatch:
    """A closed 24-hour window: log it with the conversation, and tell the first owner.

    The notice goes out in the background (never to the person whose window closed, and
    never about a notice), and :meth:`aclose` waits for what is still on its way.
    """

    def __init__(self, conversations: str, provider: str, owners: Sequence[str],
                 send: SendText) -> None:
        self.conversations = conversations  # "<bot>/<channel>"
        self.provider = provider
        self.owner = owners[0] if owners else None
        self.send = send
        self._tasks: set[asyncio.Task[bool]] = set()

    def closed(self, number: str, code: int | str, *, notify: bool = True,
               what: str = "my reply") -> None:
        log_window_closed(f"{self.conversations}/{number}", self.provider, code)
        if notify and self.owner and self.owner != number:
            task = asyncio.create_task(
                self.send(self.owner, window_notice(number, what), notify=False))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)


WINDOW = timedelta(hours=24)  # free-form messages only within 24 h of the person's last one


async def window_open(store: ChannelReader, inbound: Inbound, now: datetime | None = None) -> bool:
    """Whether the person wrote in this conversation within the last 24 hours.

    Asked only for turns Kith starts itself (reminders, briefings): a reply to a message
    always falls inside the window.
    """
    if inbound.scheduled is None:
        return True
    turns = await store.history(inbound.conversation, 0, 50)
    last = max((t.created_at for t in turns if t.role == "user"), default=None)
    return last is not None and (now or datetime.now(UTC)) - last < WINDOW
