"""A child process that runs one tool turn on a real core and SIGKILLs itself at a point.

``run(db, llm_url, point, n, ping_url)``: resume what is open (as ``kith serve`` does at
start), submit message ``n`` ("remind me …", or with ``ping_url`` "ping the server …", an
external action: one POST to a counting server) and wait for the dispatcher. At ``point``
the process kills itself with SIGKILL — no cleanup, no ``finally`` — as ``kill -9`` would:

- ``before_row``: the action row is about to be written
- ``after_row``: the row is written, the reminder not yet
- ``in_action``: the reminder's row is written inside the action's transaction, not committed
- ``after_action``: the action is done and committed, the model not yet told
- ``before_commit``: the turn is about to be recorded (the reply is not stored yet)
- ``none``: no kill (a restart that finishes the work)

The external action's points: ``before_row``, ``after_row``, ``after_start`` (the action is
marked started and committed, the request not sent), ``after_effect`` (the server acted,
Kith has not recorded it), ``before_commit``.

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

import httpx
from pydantic import BaseModel

from core.provenance import Origin
from core.tools import catalog
from core.tools.base import Policy, Tool, ToolContext, ToolResult, Who
from tests.core.harness import message
from tests.core.tools.harness import tool_core

POINTS = ("before_row", "after_row", "in_action", "after_action", "before_commit")
EXTERNAL_POINTS = ("before_row", "after_row", "after_start", "after_effect", "before_commit")


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


class Ping(BaseModel):
    note: str


async def send_ping(ctx: ToolContext, args: Ping) -> ToolResult:
    """An external action: one POST to a counting server, keyed by the action."""
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(PING_URL[0], json={"note": args.note},
                                     headers={"Idempotency-Key": ctx.idempotency_key})
        response.raise_for_status()
    if POINT[0] == "after_effect":
        _die()  # the server acted; Kith has not recorded it
    return ToolResult("Sent.", f"Ping sent: {args.note}.", origin=Origin.KITH)


PING = Tool("send_ping", "Send a ping", Ping, send_ping, Policy(Who.ALLOWED, side_effects=True))
PING_URL = [""]
POINT = [""]


def _reminder_points(store: Any, point: str) -> None:
    if point == "before_row":
        _wrap(store.actions, "record", before=True)
    elif point == "after_row":
        _wrap(store.actions, "record")
    elif point == "in_action":
        _wrap(store.schedule, "add")
    elif point == "after_action":
        atomically = store.atomically

        @asynccontextmanager
        async def committed() -> AsyncIterator[Any]:
            async with atomically() as tx:
                yield tx
            _die()  # the reminder and the action's completion are committed

        store.atomically = committed
    elif point == "before_commit":
        _wrap(store, "finish_turn", before=True)


def _external_points(store: Any, point: str) -> None:
    if point == "before_row":
        _wrap(store.actions, "record", before=True)
    elif point == "after_row":
        _wrap(store.actions, "record")
    elif point == "after_start":  # started is committed; the request not yet sent
        save = store.actions.save

        async def saved(action: Any, was: Any, was_started: bool) -> bool:
            ok = bool(await save(action, was, was_started))
            if ok and action.started and action.state.value == "approved":
                _die()
            return ok

        store.actions.save = saved
    elif point == "before_commit":
        _wrap(store, "finish_turn", before=True)


async def _main(db: Path, url: str, point: str, n: int, ping_url: str) -> None:
    external = bool(ping_url)
    PING_URL[0], POINT[0] = ping_url, point
    catalog.ALL.setdefault(PING.name, PING)
    tools = ("send_ping",) if external else None
    async with tool_core(db, url, tools=tools) as core:
        (_external_points if external else _reminder_points)(core.store, point)
        text = f"ping the server ({n})" if external else f"remind me to stretch ({n})"
        await core.dispatcher.resume()
        await core.dispatcher.submit(message("a", n, text))
        await core.dispatcher.join()


def run(db: str, url: str, point: str, n: int, ping_url: str = "") -> None:
    asyncio.run(_main(Path(db), url, point, n, ping_url))
