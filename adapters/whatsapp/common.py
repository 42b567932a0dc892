"""What both WhatsApp providers share: who may talk, body splitting, careful HTTP sends."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
)

from core.events import Attachment, Trust
from core.logging import get_logger
from core.media import Fetched, MediaTooLarge, MediaUnavailable

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


def split_text(text: str, limit: int) -> list[str]:
    """Split ``text`` into pieces of at most ``limit`` characters, at paragraph, line or
    word boundaries when there is one in the second half of the piece."""
    pieces: list[str] = []
    rest = text.strip()
    while len(rest) > limit:
        window = rest[:limit]
        cut = -1
        for sep in ("\n\n", "\n", " "):
            at = window.rfind(sep)
            if at >= limit // 2:
                cut = at
                break
        if cut == -1:
            pieces.append(window)
            rest = rest[limit:]
        else:
            pieces.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
    if rest:
        pieces.append(rest)
    return pieces


def describe(text: str, attachments: tuple[Attachment, ...]) -> str:
    """The message text; for a bare attachment a short marker so the model knows."""
    if text or not attachments:
        return text
    first = attachments[0]
    if first.kind == "location":
        return f"[shared a location: {first.name}]" if first.name else "[shared a location]"
    return f"[sent {'an' if first.kind[:1] in 'aeiou' else 'a'} {first.kind}]"


def _retry_after(response: httpx.Response, attempt: int) -> float:
    header = response.headers.get("retry-after", "")
    try:
        wait = float(header)
    except ValueError:
        wait = min(0.25 * 2**attempt, 4.0)
    return max(0.0, min(wait, MAX_RETRY_AFTER))


async def send_with_retry(
    call: Callable[[], Awaitable[httpx.Response]], what: str
) -> httpx.Response | None:
    """Run ``call``; retry on 429 (honouring Retry-After), 5xx and connection errors.

    Returns the last response (the caller reads platform errors) or None when the platform
    could not be reached at all.
    """
    response: httpx.Response | None = None
    for attempt in range(MAX_ATTEMPTS):
        try:
            response = await call()
        except httpx.TransportError as err:
            log.warning("whatsapp_send_retry", what=what, error=type(err).__name__,
                        attempt=attempt + 1)
            await asyncio.sleep(min(0.25 * 2**attempt, 4.0))
            continue
        if response.status_code != 429 and response.status_code < 500:
            return response
        log.warning("whatsapp_send_retry", what=what, status=response.status_code,
                    attempt=attempt + 1)
        if attempt + 1 < MAX_ATTEMPTS:
            await asyncio.sleep(_retry_after(response, attempt))
    return response


class _Busy(Exception):
    """429 or 5xx from a media download: worth another try after ``wait`` seconds."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"busy, retry in {wait:.2f} s")
        self.wait = wait


def _media_wait(state: RetryCallState) -> float:
    exc = state.outcome.exception() if state.outcome else None
    return exc.wait if isinstance(exc, _Busy) else min(0.25 * 2**state.attempt_number, 4.0)


async def download_capped(client: httpx.AsyncClient, url: str, limit: int, what: str,
                          **request: object) -> Fetched:
    """GET a media file, streaming: refuse a stated size over ``limit`` before reading, and
    stop reading at ``limit`` bytes. 429/5xx/connection errors are retried (one policy,
    the only line to change for adapters/kit's)."""

    async def once() -> Fetched:
        async with client.stream("GET", url, **request) as response:  # type: ignore[arg-type]
            if response.status_code == 429 or response.status_code >= 500:
                raise _Busy(_retry_after(response, 0))
            return await _read_capped(response, limit)

    retrying = AsyncRetrying(stop=stop_after_attempt(MAX_ATTEMPTS), wait=_media_wait,
                             retry=retry_if_exception_type((_Busy, httpx.TransportError)),
                             reraise=True)
    try:
        return await retrying(once)
    except (_Busy, httpx.TransportError) as err:
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


def window_notice(number: str) -> str:
    """What the owner is told when a reply could not be delivered (sent once per failure)."""
    return (f"I couldn't deliver my reply to {number}: WhatsApp only allows free-form "
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

    def closed(self, number: str, code: int | str, *, notify: bool = True) -> None:
        log_window_closed(f"{self.conversations}/{number}", self.provider, code)
        if notify and self.owner and self.owner != number:
            task = asyncio.create_task(self.send(self.owner, window_notice(number), notify=False))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def aclose(self) -> None:
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
