"""One retry policy for platform calls (tenacity), honouring each platform's Retry-After form.

* Telegram: ``RetryAfter.retry_after`` (seconds or a timedelta, from ``parameters``).
* HTTP (Twilio, Graph API): the ``Retry-After`` header, seconds or an HTTP date.
* Matrix: ``M_LIMIT_EXCEEDED`` with ``retry_after_ms``, including Synapse's nested form.
* 5xx and network errors: exponential backoff with jitter.

Rate limits wait as long as the platform asks (up to ``max_wait`` in all) and never count
against ``attempts``; other transient errors get ``attempts`` tries. This retries one *call*;
re-delivering a whole reply is the dispatcher's job (see ``adapters/base.py``).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Callable, Mapping
from datetime import UTC, datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
from tenacity import AsyncRetrying, RetryCallState

MAX_RETRY_AFTER = 300.0


class PlatformError(Exception):
    """A platform's error answer: ``status`` (HTTP), ``retry_after`` seconds if it asked."""

    def __init__(self, message: str, *, status: int = 0, retry_after: float | None = None,
                 code: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after
        self.code = code

    @property
    def transient(self) -> bool:
        return self.status == 429 or self.status >= 500 or self.retry_after is not None


def http_retry_after(headers: Mapping[str, str], now: datetime | None = None) -> float | None:
    """Seconds from ``Retry-After`` (delta-seconds or HTTP-date), None if absent/invalid."""
    value = (headers.get("retry-after") or "").strip()
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


def matrix_retry_after(errcode: str | None, message: str | None,
                       retry_after_ms: int | None) -> float | None:
    """Seconds to wait on ``M_LIMIT_EXCEEDED``, including Synapse's older nested form
    ``{"errcode": "M_UNKNOWN", "error": "{\\"errcode\\":\\"M_LIMIT_EXCEEDED\\", ...}"}``.
    None: not a rate limit, or one without a hint."""
    if isinstance(retry_after_ms, int) and not isinstance(retry_after_ms, bool) \
            and retry_after_ms >= 0:
        return retry_after_ms / 1000
    if message and message.lstrip().startswith("{"):
        try:
            nested = json.loads(message)
        except ValueError:
            nested = None
        if isinstance(nested, dict):
            value = nested.get("retry_after_ms")
            if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
                return value / 1000
    return None


def retry_after_of(exc: BaseException) -> float | None:
    """Seconds a platform asked us to wait before trying again, if it did."""
    value: Any = getattr(exc, "retry_after", None)  # telegram.error.RetryAfter, PlatformError
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(exc, httpx.HTTPStatusError) and exc.response.status_code in (429, 503):
        return http_retry_after(exc.response.headers)
    return None


def is_transient(exc: BaseException) -> bool:
    """Worth another try: network errors, timeouts, 429 and 5xx answers."""
    if isinstance(exc, PlatformError):
        return exc.transient
    if isinstance(exc, httpx.HTTPStatusError):
        return exc.response.status_code == 429 or exc.response.status_code >= 500
    return isinstance(exc, httpx.TransportError | ConnectionError | TimeoutError
                      | asyncio.TimeoutError)


def retrying(*, attempts: int = 4, max_wait: float = MAX_RETRY_AFTER,
             transient: Callable[[BaseException], bool] = is_transient,
             backoff: float = 0.2, backoff_max: float = 5.0,
             on_retry: Callable[[BaseException, float], None] | None = None) -> AsyncRetrying:
    """A fresh policy for one call: ``await retrying(...)(fn)``; the last error re-raised."""
    counts = {"failures": 0}
    waited = {"seconds": 0.0}

    def exc_of(state: RetryCallState) -> BaseException | None:
        return state.outcome.exception() if state.outcome else None

    def retry(state: RetryCallState) -> bool:
        exc = exc_of(state)
        return exc is not None and (retry_after_of(exc) is not None or transient(exc))

    def stop(state: RetryCallState) -> bool:
        exc = exc_of(state)
        asked = retry_after_of(exc) if exc is not None else None
        if asked is not None:
            return waited["seconds"] + min(asked, MAX_RETRY_AFTER) > max_wait
        counts["failures"] += 1
        return counts["failures"] >= attempts

    def wait(state: RetryCallState) -> float:
        exc = exc_of(state)
        asked = retry_after_of(exc) if exc is not None else None
        if asked is not None:
            seconds = min(asked, MAX_RETRY_AFTER)
        else:
            cap = min(backoff_max, backoff * 2 ** (counts["failures"] - 1))
            seconds = random.uniform(cap / 2, cap)
        waited["seconds"] += seconds
        if on_retry is not None and exc is not None:
            on_retry(exc, seconds)
        return seconds

    return AsyncRetrying(stop=stop, wait=wait, retry=retry, reraise=True)
