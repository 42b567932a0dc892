"""What went wrong with an endpoint, as a short kind safe for logs, metrics and /readyz.

The aiohttp transport reports a refused connection as ``APITimeoutError`` (wrapping a
``ConnectTimeout``); the cause chain tells the truth, so a refused connection is ``refused``
and fails over at once instead of being waited out like a timeout.
"""

from __future__ import annotations

import asyncio

import httpx


def _chain(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    node: BaseException | None = exc
    while node is not None and node not in seen and len(seen) < 12:
        seen.append(node)
        node = node.__cause__ or node.__context__
    return seen


def error_kind(exc: BaseException) -> str:
    """refused · connect · timeout · <HTTP status> · broken · the exception's type name."""
    import openai  # here, not at the top: importing it costs ``kith serve`` half a second

    chain = _chain(exc)
    if any(isinstance(e, ConnectionRefusedError) for e in chain):
        return "refused"
    if isinstance(exc, openai.APIStatusError):
        return str(exc.status_code)
    if any(isinstance(e, OSError) and not isinstance(e, TimeoutError) for e in chain[1:]) \
            and isinstance(exc, openai.APIConnectionError):
        return "connect"  # unreachable host, reset before an answer, DNS
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException | TimeoutError
                  | asyncio.TimeoutError):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError | ConnectionError):
        return "connect"
    return type(exc).__name__


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait, from Retry-After / retry-after-ms."""
    import openai

    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def is_retryable(exc: BaseException) -> bool:
    import openai

    if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError | httpx.TransportError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False
