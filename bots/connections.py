"""The gateway's connections: read deadlines, caps per client and in all, quiet accept errors.

uvicorn drops nobody who is slow: a client that never finishes its headers (or its body)
holds a connection, and a file descriptor, for ever. Here every connection is one of

- *waiting*: for a request's headers: a new connection, or *idle*, kept alive after an
  answer. It has ``header_seconds`` to send them. When the gateway is full a new one goes
  first, an idle one (a client that has proven itself) last;
- *reading*: the headers came, the body streams in. It has ``body_seconds`` for the body,
  and goes second when the gateway is full (the one reading longest first);
- *answering*: the request is complete; the application has it. Never cut here.

At most ``per_client`` connections come from one address (more are closed at once), and
at most ``total`` in all: a new connection past it takes the place of the oldest waiting
(or reading) one, or is closed when every connection is being answered. ``total`` stays
below the process's file limit, minus what the process already uses, a reserve for its
outgoing connections and what one round of ``accept()`` may take (``BACKLOG``): the
gateway never runs out of files, so ``/healthz`` and the webhooks keep being answered.
If ``accept()`` fails anyway (another part of the process took the files), asyncio's
error is logged at most once in ``QUIET_SECONDS``, with the number left out.
"""

from __future__ import annotations

import asyncio
import os
import resource
import time
from collections import Counter, OrderedDict
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.auto import AutoHTTPProtocol

from core.logging import get_logger
from core.settings import GatewaySettings

log = get_logger("kith.gateway")
BACKLOG = 128  # the listen queue, and so the most one accept round takes at once
RESERVE = 64  # files kept for everything else: the model, the database, the platforms
QUIET_SECONDS = 10.0
REAP_EVERY = 0.5


@dataclass(frozen=True, slots=True)
class Limits:
    header_seconds: float
    body_seconds: float
    per_client: int
    total: int


def open_files() -> int:
    try:
        return len(os.listdir("/proc/self/fd"))
    except OSError:
        return 64


def raise_file_limit(wanted: int = 65536) -> int:
    """The soft file limit raised towards the hard one (as servers do); the new soft."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(hard, wanted)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
        except (ValueError, OSError):
            pass
    return soft


def limits_for(gateway: GatewaySettings) -> Limits:
    """The settings' limits, ``total`` cut to what the file limit allows (at least 16),
    after raising the soft limit as far as the hard one lets."""
    soft = raise_file_limit()
    room = gateway.max_connections if soft == resource.RLIM_INFINITY else \
        min(gateway.max_connections, soft - open_files() - RESERVE - BACKLOG)
    return Limits(gateway.header_timeout, gateway.body_timeout,
                  gateway.max_connections_per_client, max(16, room))


class Pool:
    """Every open connection, the waiting ones in the order they started waiting."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.open: dict[Any, float] = {}  # connection -> when its current phase began
        self.waiting: OrderedDict[Any, None] = OrderedDict()  # new: no request yet
        self.bodies: OrderedDict[Any, None] = OrderedDict()  # reading, oldest first (lazily)
        self.idle: OrderedDict[Any, None] = OrderedDict()  # kept alive after an answer
        self.clients: Counter[str] = Counter()
        self.dropped: Counter[str] = Counter()  # why connections were cut (for the logs)
        self._reaper: asyncio.TimerHandle | None = None

    def admit(self, conn: Any, client: str) -> bool:
        if self.clients[client] >= self.limits.per_client:
            self.dropped["per_client"] += 1
            return False
        if len(self.open) >= self.limits.total:
            victim = self._victim()
            if victim is None:
                self.dropped["full"] += 1
                return False
            self.cut(victim, "evicted")
        self.clients[client] += 1
        self.open[conn] = time.monotonic()
        self.waiting[conn] = None
        if self._reaper is None:
            self._reaper = asyncio.get_running_loop().call_later(REAP_EVERY, self._reap)
        return True

    def _victim(self) -> Any:
        """The oldest new connection still without its headers, else the one reading its
        body the longest, else the oldest idle one kept alive after an answer."""
        if self.waiting:
            return next(iter(self.waiting))
        while self.bodies:
            conn = next(iter(self.bodies))
            if conn in self.open and conn.reading_body():
                return conn
            self.bodies.pop(conn)
        return next(iter(self.idle)) if self.idle else None

    def reading(self, conn: Any) -> None:
        if self.waiting.pop(conn, False) is None or self.idle.pop(conn, False) is None:
            self.open[conn] = time.monotonic()
            self.bodies[conn] = None

    def answered(self, conn: Any) -> None:
        if conn in self.open:
            self.open[conn] = time.monotonic()
            self.bodies.pop(conn, None)
            self.idle[conn] = None
            self.idle.move_to_end(conn)

    def gone(self, conn: Any, client: str) -> None:
        if self.open.pop(conn, None) is not None:
            self.waiting.pop(conn, None)
            self.bodies.pop(conn, None)
            self.idle.pop(conn, None)
            self.clients[client] -= 1
            if self.clients[client] <= 0:
                del self.clients[client]

    def cut(self, conn: Any, why: str) -> None:
        self.dropped[why] += 1
        self.gone(conn, conn.peer)
        conn.transport.abort()

    def _slowest(self, now: float) -> float:
        """How long the slowest connection left has waited for its headers or body."""
        return max((now - since for c, since in self.open.items()
                    if c in self.waiting or c in self.idle or c.reading_body()), default=0.0)

    def _reap(self) -> None:
        now, lim = time.monotonic(), self.limits
        late = [c for c, since in self.open.items()
                if (now - since > lim.header_seconds and (c in self.waiting or c in self.idle))
                or (now - since > lim.body_seconds and c.reading_body())]
        for conn in late:
            self.cut(conn, "slow")
        if late or self.dropped["evicted"] or self.dropped["full"] or self.dropped["per_client"]:
            log.info("gateway_connections_cut", open=len(self.open),
                     slowest_seconds=round(self._slowest(now), 1), **dict(self.dropped))
            self.dropped.clear()
        self._reaper = asyncio.get_running_loop().call_later(REAP_EVERY, self._reap) \
            if self.open else None


def protocol(limits: Limits) -> type[asyncio.Protocol]:
    """uvicorn's HTTP protocol, with the deadlines and caps of one shared :class:`Pool`."""
    pool = Pool(limits)
    base: Any = AutoHTTPProtocol

    class Guarded(base):  # type: ignore[misc]
        peer = "?"
        admitted = False

        def connection_made(self, transport: asyncio.Transport) -> None:
            address = transport.get_extra_info("peername")
            self.peer = str(address[0]) if address else "?"
            self.transport = transport
            if not pool.admit(self, self.peer):
                transport.abort()
                return
            self.admitted = True
            super().connection_made(transport)

        def data_received(self, data: bytes) -> None:
            if not self.admitted:
                return
            super().data_received(data)
            if self.cycle is not None and not self.cycle.response_complete:
                pool.reading(self)

        def on_response_complete(self) -> None:
            super().on_response_complete()
            pool.answered(self)

        def reading_body(self) -> bool:
            cycle = self.cycle
            return cycle is not None and cycle.more_body and not cycle.response_complete

        def connection_lost(self, exc: Exception | None) -> None:
            pool.gone(self, self.peer)
            if self.admitted:
                super().connection_lost(exc)

    Guarded.pool = pool
    return Guarded


def uvicorn_options(gateway: GatewaySettings) -> dict[str, Any]:
    return {"http": protocol(limits_for(gateway)), "backlog": BACKLOG}


def quiet_accept_errors(loop: asyncio.AbstractEventLoop) -> None:
    """Log asyncio's "accept out of resources" at most once in ``QUIET_SECONDS``."""
    previous = loop.get_exception_handler()
    last, left_out = 0.0, 0

    def handler(loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
        nonlocal last, left_out
        if str(context.get("message", "")).startswith("socket.accept() out of system"):
            now = time.monotonic()
            if now - last < QUIET_SECONDS:
                left_out += 1
                return
            log.error("gateway_accept_failed", error=str(context.get("exception")),
                      left_out=left_out, within_seconds=QUIET_SECONDS)
            last, left_out = now, 0
            return
        if previous is not None:
            previous(loop, context)
        else:
            loop.default_exception_handler(context)

    loop.set_exception_handler(handler)
