"""Logs at DEBUG, captured: for canary tests of a channel's login (no secret at any level)."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import structlog

from core.logging import configure


@contextmanager
def debug_log() -> Iterator[io.StringIO]:
    """Kith's own logging set-up at DEBUG (JSON) into a buffer; the previous one after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    named = {name: logging.getLogger(name).level
             for name in ("httpx", "httpcore", "hpack", "aiosqlite", "multipart", "nio")}
    out = io.StringIO()
    configure("DEBUG", json=True, stream=out)
    for name in named:  # the SDKs' own DEBUG lines too: they are what leaked
        logging.getLogger(name).setLevel(logging.DEBUG)
    try:
        yield out
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, was in named.items():
            logging.getLogger(name).setLevel(was)
        structlog.reset_defaults()


@pytest.fixture
def debug_logs() -> Iterator[io.StringIO]:
    """:func:`debug_log` around a test and the fixtures after it in the test's arguments."""
    with debug_log() as out:
        yield out


def assert_clean(out: io.StringIO, *secrets: str) -> None:
    text = out.getvalue()
    assert '"level": "debug"' in text, "DEBUG was on"
    for secret in secrets:
        assert secret and secret not in text, f"{secret[:6]}… in the DEBUG log"
