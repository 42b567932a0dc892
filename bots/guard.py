"""The gateway's front door (pure ASGI middleware): Host, Origin and body size, every route.

- ``Host`` must be a loopback name, an IP address or an allowed host name (the public
  URL's host, ``KITH_GATEWAY__ALLOWED_HOSTS``). A page whose own name resolves to
  127.0.0.1 (DNS rebinding) sends its own name as ``Host``, and is refused.
- ``Origin``, when sent, must be the request's own origin (scheme, host and port) or a
  public URL's: another site's page, or the same name on another port or over plain http,
  cannot post in the person's name, whatever Host says.
- The token (adapters/webauth.py :class:`Access`): every route but ``/healthz``,
  ``/readyz`` and the webhooks (which check their platform's signature) needs it whenever
  one is set, the gateway is exposed (off loopback or a public URL), or the request is not
  from a loopback address to a loopback name. ``/readyz`` shows details only with it.
  Wrong tokens slow their client down.
- Every response says ``X-Content-Type-Options: nosniff``.
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
from urllib.parse import parse_qs, unquote_to_bytes, urlsplit

from starlette.requests import cookie_parser
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from adapters.webauth import COOKIE, TOKEN_ENV, Access, presented
from core.settings import GatewaySettings, is_loopback

BODY_METHODS = ("POST", "PUT", "PATCH", "DELETE")
LINGER_SECONDS = 5.0  # after a 413: how long the rest of an upload is read and dropped
LINGER_BYTES = 64 * 1024 * 1024  # and at most this much of it
OPEN_PATHS = ("/healthz", "/readyz")  # and the webhooks: no token, ever
HOOKS = "/hooks/"
AUTHORIZED = "kith_authorized"  # in the request's state: the token was shown (or not needed)
DEFAULT_PORTS = {"http": 80, "https": 443}
NOSNIFF = (b"x-content-type-options", b"nosniff")


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


def origin_of(url: str, default_scheme: str | None = None) -> tuple[str, str, int] | None:
    """(scheme, host, port) of an origin or URL, the port made explicit; None if malformed."""
    if "://" not in url and default_scheme is not None:
        url = f"{default_scheme}://{url}"
    try:
        parts = urlsplit(url.strip())
        scheme, name, port = parts.scheme.lower(), parts.hostname, parts.port
    except ValueError:
        return None
    if scheme not in DEFAULT_PORTS or not name:
        return None
    return scheme, name.lower().strip("[]"), port or DEFAULT_PORTS[scheme]


def is_authorized(scope: Scope) -> bool:
    """The Guard found the token on this request (or none was needed)."""
    return bool(scope.get("state", {}).get(AUTHORIZED))


class Guard:
    def __init__(self, app: ASGIApp, settings: GatewaySettings,
                 extra_hosts: Iterable[str] = (), public_urls: Iterable[str] = (),
                 access: Access | None = None) -> None:
        self.app = app
        self.limit = settings.max_body_bytes
        urls = [u for u in (settings.public_url, *public_urls) if u]
        public = [urlsplit(u).hostname for u in urls]
        names = [*public, *settings.allowed_hosts, *extra_hosts]
        self.hosts = {n.lower().strip("[]") for n in names if n}
        self.origins = {o for o in (origin_of(u) for u in urls) if o}
        self.access = access or Access(settings, urls)

    def allowed(self, name: str | None) -> bool:
        if name is None:
            return False
        name = name.strip("[]")
        return is_loopback(name) or _is_ip(name) or name in self.hosts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        send = _nosniff(send)
        refused = self._check(scope) or await self._authorize(scope)
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
            own = origin_of(headers.get("host", ""), scope.get("scheme", "http"))
            if own is not None and own[1] in {o[1] for o in self.origins}:
                own = None  # a public name: only its public origin (the tunnel's scheme)
            if origin_of(origin) not in {own, *self.origins} - {None}:
                return 403, "cross-origin requests are refused"
        try:
            unquote_to_bytes(scope.get("raw_path") or b"").decode("utf-8")
            unquote_to_bytes(scope.get("query_string", b"")).decode("utf-8")
        except UnicodeDecodeError:
            return 400, "the URL is not valid UTF-8"
        return None

    async def _authorize(self, scope: Scope) -> tuple[int, str] | None:
        """Mark whether the request showed the token; refuse it where one is needed."""
        path: str = scope["path"]
        if path.startswith(HOOKS) or path == "/healthz":
            return None
        headers = _headers(scope)
        client = (scope.get("client") or ("?", 0))[0]
        cookie = cookie_parser(headers.get("cookie", "")).get(COOKIE)
        given = presented(cookie, headers.get("authorization"))
        if given is None and scope["method"] == "GET":  # the page's one-time ?token=
            given = (parse_qs(scope.get("query_string", b"").decode()).get("token") or [None])[0]
        needed = self.access.needed(host_name(headers.get("host", "")), client)
        authorized = not needed or await self.access.check(given, client)
        scope.setdefault("state", {})[AUTHORIZED] = authorized
        if authorized or path in OPEN_PATHS:
            return None
        if self.access.token is None:
            return 401, (f"this gateway has no token ({TOKEN_ENV}), so it answers only "
                         "requests from this machine to localhost")
        return 401, "a valid token is required"

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


def _nosniff(send: Send) -> Send:
    async def sending(message: Message) -> None:
        if message["type"] == "http.response.start":
            headers = [h for h in message.get("headers", []) if h[0].lower() != NOSNIFF[0]]
            message = {**message, "headers": [*headers, NOSNIFF]}
        await send(message)
    return sending


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
