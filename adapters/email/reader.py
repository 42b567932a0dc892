"""Reading a mail off the event loop: in a worker process, within a time budget.

DKIM body hashing and MIME parsing are CPU work on untrusted bytes; done on a thread they
would still hold the GIL for hundreds of milliseconds at a time (regexes over a 10 MB
body), freezing every channel. A worker process cannot, and when a mail overruns its
budget the worker is ended instead of left to finish. Counting MIME parts on the bytes
comes before parsing, so a mail built to exhaust the parser costs one linear scan.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any, TypeVar

from adapters.email.parse import ParsedMail, mime_parts, parse_mail
from adapters.email.verify import DnsFunc, Verdict, verify

T = TypeVar("T")
WORKERS = 1  # mail is rare; on threads the GIL serialized this work anyway


class Unreadable(Exception):
    """The mail could not be read within the limits; the text says why, for the owner."""


def check(raw: bytes, owners: Sequence[str], trusted: Sequence[str],
          dnsfunc: DnsFunc | None) -> Verdict:
    """Is it an owner's mail? (Its own step: a verified mail that then overruns the parse
    budget is still the owner's, and they are told.)"""
    return verify(raw, owners, trusted, dnsfunc)


def read(raw: bytes, max_parts: int) -> ParsedMail | str:
    if mime_parts(raw, stop=max_parts + 1) > max_parts:
        return f"it has more than {max_parts} MIME parts"
    return parse_mail(raw)


class Reader:
    """A small shared pool of worker processes (spawned: no inherited threads or sockets)."""

    _pool: ProcessPoolExecutor | None = None
    _ready: asyncio.Future[list[None]] | None = None

    @classmethod
    async def _executor(cls) -> ProcessPoolExecutor:
        """The pool, once its workers have started (start-up is not part of any budget)."""
        loop = asyncio.get_running_loop()
        if cls._pool is None:
            cls._pool = ProcessPoolExecutor(WORKERS, multiprocessing.get_context("spawn"),
                                            initializer=_die_with, initargs=(os.getpid(),))
        if cls._ready is None or cls._ready.get_loop() is not loop:
            cls._ready = asyncio.gather(*(loop.run_in_executor(cls._pool, _started)
                                          for _ in range(WORKERS)))
        pool = cls._pool
        await asyncio.shield(cls._ready)
        return pool

    @classmethod
    async def warm(cls) -> None:
        """Start the workers ahead of the first mail."""
        await cls._executor()

    @classmethod
    def _reset(cls) -> None:
        pool, cls._pool, cls._ready = cls._pool, None, None
        if pool is None:
            return
        for process in list(getattr(pool, "_processes", {}).values()):
            process.kill()  # the only way to stop work already running in a worker
        pool.shutdown(wait=False, cancel_futures=True)

    @classmethod
    def close(cls) -> None:
        """End the workers (shutdown): none outlives the process that started it."""
        cls._reset()

    @classmethod
    async def run(cls, budget: float, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` in a worker; :class:`Unreadable` when it overran ``budget``."""
        loop = asyncio.get_running_loop()
        for attempt in (1, 2):
            future = loop.run_in_executor(await cls._executor(), fn, *args)
            try:
                return await asyncio.wait_for(future, budget)
            except TimeoutError:
                cls._reset()
                raise Unreadable(f"it took more than {budget:g} seconds to read") from None
            except BrokenProcessPool:  # another mail's overrun ended the workers: once more
                cls._reset()
                if attempt == 2:
                    raise
        raise AssertionError("unreachable")


def _die_with(parent: int) -> None:
    """In each worker: end when the parent process ends, however it ends (SIGKILL too).
    Linux: the kernel sends SIGKILL (PR_SET_PDEATHSIG); elsewhere a thread watches."""
    with contextlib.suppress(Exception):
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # it ended before we asked
        os._exit(0)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(0)

    threading.Thread(target=watch, name="parent-watch", daemon=True).start()


PR_SET_PDEATHSIG = 1


def _started() -> None:
    """Run once per worker: returns when the worker has imported this module."""
