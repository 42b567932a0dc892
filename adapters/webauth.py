"""The web token: when it is required, how strong it must be, how it is checked (from a
cookie, a bearer header or once from ``?token=``), and how guessing it is slowed.

Shared by the web chat, the "what Kith knows" page and the gateway's own routes; the
gateway's front door (bots/guard.py) applies :class:`Access` to every request.
"""

from __future__ import annotations

import asyncio
import hmac
import math
import secrets
import string
import time
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import Response

from core.settings import ConfigError, GatewaySettings, is_loopback

COOKIE = "kith_token"
TOKEN_ENV = "KITH_GATEWAY__WEBCHAT_TOKEN"
MIN_BITS = 128
_CLASSES = (string.ascii_lowercase, string.ascii_uppercase, string.digits)


def token_ok(request: Request, token: str) -> bool:
    """The token, from the ``kith_token`` cookie or ``Authorization: Bearer``, is right."""
    return matches(presented(request.cookies.get(COOKIE), request.headers.get("authorization"))
                   or "", token)


def presented(cookie: str | None, authorization: str | None) -> str | None:
    """The token a request carries (the cookie first, then a bearer header), if any."""
    if cookie:
        return cookie
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip() or None
    return None


def matches(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def set_token_cookie(response: Response, token: str, public_url: str | None) -> None:
    """The cookie for a token already checked; ``Secure`` when the public URL is https."""
    secure = bool(public_url and public_url.lower().startswith("https://"))
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure)


# -- strength ----------------------------------------------------------------------------

def token_bits(token: str) -> float:
    """An upper estimate of a token's entropy in bits (pure).

    Each character that is new in the token could have been any of the alphabet its
    character classes span (lower case, upper case, digits, everything else); a character
    seen before could only have been one of those already seen. A token of one repeated
    letter is worth one letter; 32 random hex digits are worth about 130 bits; what
    ``kith token`` prints (43 URL-safe characters) about 250."""
    pool = sum(len(c) for c in _CLASSES if any(ch in c for ch in token))
    if any(not any(ch in c for c in _CLASSES) for ch in token):
        pool += 33  # punctuation and the rest
    bits, seen = 0.0, set[str]()
    for ch in token:
        bits += math.log2(pool) if ch not in seen else math.log2(max(1, len(seen)))
        seen.add(ch)
    return bits


def generate() -> str:
    """A new token: 256 random bits, URL-safe."""
    return secrets.token_urlsafe(32)


def exposed(gateway: GatewaySettings, public_urls: Iterable[str | None] = ()) -> bool:
    """Reachable from off this machine: listening off loopback, or a public URL is set (a
    tunnel or reverse proxy forwards to the loopback port, with any Host it likes)."""
    return not gateway.local or gateway.public_url is not None or any(public_urls)


def check_token(gateway: GatewaySettings, public_urls: Iterable[str | None] = ()) -> None:
    """Refuse to start exposed without a strong token (:class:`ConfigError`, one line)."""
    secret = gateway.webchat_token.get_secret_value() if gateway.webchat_token else ""
    why = (f"the gateway listens on {gateway.host} (not loopback)" if not gateway.local
           else "a public URL is set")
    if not secret and exposed(gateway, public_urls):
        raise ConfigError(f"{TOKEN_ENV}: required when {why}; `kith token` makes one")
    if secret and token_bits(secret) < MIN_BITS:
        raise ConfigError(f"{TOKEN_ENV}: too weak (about {token_bits(secret):.0f} bits; at "
                          f"least {MIN_BITS} needed); `kith token` makes a strong one")


# -- who must show it, and how fast they may guess -----------------------------------------

@dataclass(slots=True)
class _Misses:
    count: int = 0
    next_at: float = 0.0  # the earliest moment this client's next attempt is looked at
    last: float = 0.0


class Throttle:
    """Wrong tokens slow their client down: after ``free`` misses, each attempt from that
    client (right or wrong, so the delay tells nothing) waits its turn, ``step`` seconds
    apart. Misses are forgotten after ``forget`` quiet seconds or a right token."""

    def __init__(self, free: int = 5, step: float = 1.0, forget: float = 600.0,
                 clients: int = 10_000) -> None:
        self.free, self.step, self.forget, self.clients = free, step, forget, clients
        self._misses: OrderedDict[str, _Misses] = OrderedDict()

    def _get(self, client: str, now: float) -> _Misses:
        state = self._misses.get(client)
        if state is None or now - state.last > self.forget:
            state = self._misses[client] = _Misses(last=now)
            while len(self._misses) > self.clients:
                self._misses.popitem(last=False)
        self._misses.move_to_end(client)
        return state

    async def turn(self, client: str) -> None:
        now = time.monotonic()
        state = self._get(client, now)
        if state.count < self.free:
            return
        slot = max(now, state.next_at)
        state.next_at = slot + self.step
        await asyncio.sleep(slot - now)

    def record(self, client: str, right: bool) -> None:
        now = time.monotonic()
        if right:
            self._misses.pop(client, None)
            return
        state = self._get(client, now)
        state.count += 1
        state.last = now


class Access:
    """Who must show the token: everyone when one is set or the gateway is exposed; and
    without one, every request not both from a loopback address and to a loopback name."""

    def __init__(self, gateway: GatewaySettings, public_urls: Iterable[str | None] = (),
                 throttle: Throttle | None = None) -> None:
        secret = gateway.webchat_token
        self.token = secret.get_secret_value() if secret else None
        self.exposed = exposed(gateway, list(public_urls))
        self.throttle = throttle or Throttle()

    def needed(self, host: str | None, client: str | None) -> bool:
        local = host is not None and is_loopback(host) and client is not None \
            and is_loopback(client)
        return self.token is not None or self.exposed or not local

    async def check(self, given: str | None, client: str) -> bool:
        """Whether ``given`` is the token, at the pace the client's misses allow."""
        if self.token is None or not given:
            return False
        await self.throttle.turn(client)
        right = matches(given, self.token)
        self.throttle.record(client, right)
        return right
