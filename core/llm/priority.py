"""Who is waiting for a model call: a person, or Kith's own background work.

Background work (memory extraction, summaries) runs inside :func:`background`; a local model
that serves one request at a time (``core.local.embedded``) answers every person first and
lets background calls wait — and yield mid-reply — while anyone waits. Servers ignore it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_BACKGROUND: ContextVar[bool] = ContextVar("kith_llm_background", default=False)


@contextmanager
def background() -> Iterator[None]:
    """Model calls made inside (and in tasks started inside) are background work."""
    token = _BACKGROUND.set(True)
    try:
        yield
    finally:
        _BACKGROUND.reset(token)


def is_background() -> bool:
    return _BACKGROUND.get()
