"""A child process that runs one tool turn on a real core and SIGKILLs itself at a point.

``run(db, llm_url, point, n)``: resume what is open (as ``kith serve`` does at start), submit
message ``n`` ("remind me …") and wait for the dispatcher. At ``point`` the process kills
itself with SIGKILL — no cleanup, no ``finally`` — exactly as ``kill -9`` would there:

- ``before_row``: the action row is about to be written
- ``after_row``: the row is written, the reminder not yet
- ``in_action``: the reminder's row is written inside the action's transaction, not committed
- ``after_action``: the action is done and committed, the model not yet told
- ``before_commit``: the turn is about to be recorded (the reply is not stored yet)
- ``none``: no kill (a restart that finishes the work)

Forked from a preloaded forkserver, so 200 kills cost seconds, not minutes.
"""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from tests.core.harness import message
from tests.core.tools.harness import tool_core

POINTS = ("before_row", "after_row", "in_action", "after_action", "before_commit")


def _die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


def _wrap(owner: Any, name: str, *, before: bool = False,
          when: Any = lambda result: True) -> None:
    original = getattr(owner, name)

    async def wrapped(*args: Any, **kwargs: Any) -> Any:
        if before:
            _die()
        result = await original(*args, **kwargs)
        if when(result):
            _die()
        return result

    setattr(owner, name, wrapped)


async def _main(db: Path, url: str, point: str, n: int) -> None:
    async with tool_core(db, url) as core:
        store = core.store
        if point == "before_row":
            _wrap(store.actions, "record", before=True)
        elif point == "after_row":
            _wrap(store.actions, "record")
        elif point == "in_action":
            _wrap(store.schedule, "add")
        elif point == "after_action":
            atomically = store.actions.atomically

            @asynccontextmanager
            async def committed() -> AsyncIterator[None]:
                async with atomically():
                    yield
                _die()  # the reminder and the action's completion are committed

            store.actions.atomically = committed  # type: ignore[method-assign]
        elif point == "before_commit":
            _wrap(store, "finish_turn", before=True)
        await core.dispatcher.resume()
        await core.dispatcher.submit(message("a", n, f"remind me to stretch ({n})"))
        await core.dispatcher.join()


def run(db: str, url: str, point: str, n: int) -> None:
    asyncio.run(_main(Path(db), url, point, n))
