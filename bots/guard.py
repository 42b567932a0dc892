"""The gateway's front door (pure ASGI middleware): Host, Origin and body size, every route.

- ``Host`` must be a loopback name, an IP address or an allowed host name (the public
  URL's host, ``KITH_GATEWAY__ALLOWED_HOSTS``). A page whose own name resolves to
  127.0.0.1 (DNS rebinding) sends its own name as ``Host``, and is refused.
- ``Origin``, when sent, must name an allowed host too: another site's page cannot post
  in the person's name, whatever Host says.
- The body limit holds while the body streams in: a declared ``Content-Length`` over it
  is refused before a byte is read, and a body that grows past it is refused at that
  point. At most the limit is ever buffered, and the application gets the body replayed.
- Text in the path and query that is not valid UTF-8 is answered with 400, never a crash.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import json
from collections.abc import Iterable
from urllib.parse import unquote_to_bytes, urlsplit

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from core.settings import GatewaySettings, is_loopback

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LINGER_SECONDS = 5.0  # after a 413: how long the rest of an upload is read and dropped
LINGER_BYTES = 64 * 1024 * 1024  # and at most this much of it


def host_name(value: str) -> str | None:
    """The host of a ``Host`` header or an origin's netloc, lowercased; None if malformed."""
    try:
        parts = urlsplit("//" + value.strip())
        name = parts.hostname
        parts.port  # noqa: B018 - raises on a malformed port
    except ValueError:
        return None
    return name.lower() if name else None


def _is_ip(name: str) -> bool:
    try:
        ipaddress.ip_address(name.strip("[]"))
    except ValueError:
        return False
    return True


class Guard:
    def __init__(self, app: ASGIApp, settings: GatewaySettings,
                 extra_hosts: Iterable[str] = ()) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        public = [urlsplit(settings.public_url).hostname] if settings.public_url else []
        names = [*public, *settings.allowed_hosts, *extra_hosts]
        self.hosts = {n.lower().strip("[]") for n in names if n}

    def allowed(self, name: str | None) -> bool:
        if name is None:
            return False
        name = name.strip("[]")
        return is_loopback(name) or _is_ip(name) or name in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refused = self._check(scope)
        if refused is not None:
            await _answer(send, *refused)
            return
        if scope["method"] not in BODY_METHODS:
            await self.app(scope, receive, send)
            return
        body = await self._read(scope, receive, send)
        if body is not None:
            await self.app(scope, _replay(body, receive), send)

    def _check(self, scope: Scope) -> tuple[int, str] | None:
        headers = _headers(scope)
        if not self.allowed(host_name(headers.get("host", ""))):
            return 403, "unknown host"
        origin = headers.get("origin")
        if origin is not None:
            netloc = urlsplit(origin).netloc if "://" in origin else ""
            if not netloc or not self.allowed(host_name(netloc)):
                return 403, "cross-origin requests are refused"
        try:
            unquote_to_bytes(scope.get("raw_path") or b"").decode("utf-8")
            unquote_to_bytes(scope.get("query_string", b"")).decode("utf-8")
        except UnicodeDecodeError:
            return 400, "the URL is not valid UTF-8"
        return None

    async def _read(self, scope: Scope, receive: Receive, send: Send) -> bytes | None:
        """The whole body, or None once a 413 went out (nothing more is read)."""
        declared = _headers(scope).get("content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await _refuse(send, receive, self.limit)
            return None
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return None
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                chunks.clear()
                await _refuse(send, receive, self.limit)
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)


async def _refuse(send: Send, receive: Receive, limit: int) -> None:
    """Answer 413, then close the way nginx does (a lingering close).

    The whole answer goes out at once, but the response is completed only after the rest
    of the upload was read and dropped, briefly: the server closes the connection when
    the response completes, closing a socket with unread data sends a reset, and a client
    whose kernel gets the reset first never reads the 413. (Once a response is complete
    the server hands the application no more of the body, so the reading has to come
    first.) Nothing is kept; the upload is cut at the budget either way."""
    await _start(send, 413, f"the body is larger than {limit} bytes", more=True)
    dropped = 0
    with contextlib.suppress(TimeoutError):
        async with asyncio.timeout(LINGER_SECONDS):
            while dropped < LINGER_BYTES:
                message = await receive()
                if message["type"] == "http.disconnect" or not message.get("more_body"):
                    break
                dropped += len(message.get("body", b""))
    await send({"type": "http.response.body", "body": b"", "more_body": False})


def _headers(scope: Scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # the disconnect, when it comes

    return replay


async def _answer(send: Send, status: int, error: str) -> None:
    await _start(send, status, error, more=False)


async def _start(send: Send, status: int, error: str, more: bool) -> None:
    """The whole JSON answer; with ``more`` the response is left open to be completed."""
    body = json.dumps({"error": error}).encode()
    await send({"type": "http.response.start", "status": status, "headers": [
        (b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
        (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body, "more_body": more})
