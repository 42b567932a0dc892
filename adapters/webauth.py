"""The web token: checked from a cookie or a bearer header, and set as a cookie only once
it was checked (shared by the web chat and the gateway's own routes)."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response

COOKIE = "kith_token"


def token_ok(request: Request, token: str) -> bool:
    """The token, from the ``kith_token`` cookie or ``Authorization: Bearer``, is right."""
    given = request.cookies.get(COOKIE) or request.headers.get(
        "authorization", "").removeprefix("Bearer ")
    return matches(given, token)


def matches(given: str, token: str) -> bool:
    return hmac.compare_digest(given.encode("utf-8", "replace"), token.encode("utf-8"))


def set_token_cookie(response: Response, token: str, public_url: str | None) -> None:
    """The cookie for a token already checked; ``Secure`` when the public URL is https."""
    secure = bool(public_url and public_url.lower().startswith("https://"))
    response.set_cookie(COOKIE, token, httponly=True, samesite="strict", secure=secure)
