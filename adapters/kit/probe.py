"""``kith check``'s look at a channel's platform: one harmless request, one line back.

A probe never logs in (that would make a device or a session); it asks whether the platform
answers and, where a read-only call can tell, whether it takes the credentials.
"""

from __future__ import annotations

import httpx

TIMEOUT = 5.0


async def get(url: str, headers: dict[str, str] | None = None) -> httpx.Response | str:
    """The response, or a short reason it did not come (never the URL: it may hold a token)."""
    try:
        async with httpx.AsyncClient(timeout=TIMEOUT) as http:
            return await http.get(url, headers=headers)
    except httpx.TimeoutException:
        return f"no answer within {TIMEOUT:g}s"
    except httpx.HTTPError as err:
        return f"unreachable ({type(err).__name__})"
