"""How a conversation's messages are run, one after another: two strategies.

:class:`LocalRunner` (one process, SQLite) answers the conversation's queue in order.
:class:`LeasedRunner` (replicas on PostgreSQL, :class:`core.coordination.SharedTurns`):
any replica records a message; the one that holds or takes the lease runs the
conversation, reading each next message from the inbox (so messages accepted elsewhere
keep their arrival order), commits each turn fenced by its lease, and releases the lease
when nothing is open. A sweep takes over conversations whose holder died, and shares the
open ones fairly: a replica holding more than its share hands the excess off between turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Literal, Protocol

from core import metrics
from core.coordination import LeaseLost, SharedTurns
from core.events import ConversationKey, Inbound
from core.inbox.delivery import Channels
from core.inbox.store import InboxStore
from core.logging import get_logger

log = get_logger("kith.dispatch")
HAND_OFF_BEHIND = 3  # open messages: a conversation this far behind may go to another replica
Process = Callable[[Inbound, "int | None"], Awaitable[bool]]


def share(conversations: int, replicas: int) -> int:
    """A replica's fair share of the open conversations: an even split, plus one."""
    return -(-conversations // replicas) + 1


class Host(Protocol):
    """What a runner asks of the dispatcher."""

    def enqueue(self, inbound: Inbound) -> None: ...
    def wake(self, key: ConversationKey) -> None: ...
    def queued(self) -> set[str]: ...


def _pop(queue: deque[Inbound], done: set[str]) -> None:
    while queue and queue[0].id in done:
        queue.popleft()
        metrics.QUEUE_DEPTH.dec()


class LocalRunner:
    """One process: every conversation is this process's; its queue is its work."""

    def __init__(self, store: InboxStore, process: Process) -> None:
        self.store = store
        self.process = process

    async def work(self, key: ConversationKey, queue: deque[Inbound]) -> None:
        while queue:
            if not await self.process(queue[0], None):
                return  # shutting down while it waits: it stays open and resumes
            _pop(queue, {queue[0].id})

    async def resume(self, host: Host) -> int:
        queued = host.queued()
        fresh = [item for item in await self.store.pending() if item.id not in queued]
        for inbound in fresh:
            host.enqueue(inbound)
        if fresh:
            log.info("resumed", count=len(fresh))
        return len(fresh)

    def start(self, host: Host) -> None:
        return None

    async def close(self) -> None:
        return None


class LeasedRunner:
    """Replicas: a conversation runs where its lease is; the inbox is its work, read with
    the lease's own statements (``SharedTurns``)."""

    def __init__(self, process: Process, leases: SharedTurns, channels: Channels,
                 stop: asyncio.Event, sweep_every: float = 2.0) -> None:
        self.process = process
        self.leases = leases
        self.channels = channels
        self._stop = stop
        self._sweep_every = sweep_every
        self._sweeper: asyncio.Task[None] | None = None
        self._yielding = 0  # conversations to hand off after their current turn
        # handed off at (monotonic): not taken back at once
        self._handed: dict[ConversationKey, float] = {}

    async def work(self, key: ConversationKey, queue: deque[Inbound]) -> None:
        done: set[str] = set()
        held = False
        try:
            while not self._stop.is_set():
                if not self.channels.delivers_here(key):  # its channel's leader takes it
                    return
                opened = await self.leases.take(key)  # the lease, and what is open
                if opened is None:  # another replica runs it: it reads our message from the
                    return  # inbox after it releases, at the latest (see SharedTurns)
                held = True
                try:
                    outcome = await self._run(key, queue, done, opened)
                except LeaseLost:  # taken over while this replica was away: the holder runs it
                    log.warning("lease_lost", conversation=str(key))
                    return  # (released below: forgotten here, the row is no longer ours)
                if outcome == "closing":
                    return
                held = False
                if outcome == "hand off":  # its open work goes to another replica's sweep
                    await self.leases.release(key)
                    self._handed[key] = time.monotonic()
                    log.info("conversation_handed_off", conversation=str(key))
                    return
                left = await self.leases.let_go(key)  # released, then what is open
                if not [inbound for inbound in left if inbound.id not in done]:
                    return  # nothing arrived meanwhile
        finally:
            if held:
                with contextlib.suppress(Exception):
                    await self.leases.release(key)

    async def _run(self, key: ConversationKey, queue: deque[Inbound], done: set[str],
                   open_now: list[Inbound]) -> Literal["done", "closing", "hand off"]:
        """Answer the conversation's open messages in inbox order, until none is open, the
        dispatcher shuts down, or this replica holds more than its share and the
        conversation is behind (a pause of one sweep costs less than the backlog). What
        opened while these ran is found after the lease is released (see ``work``)."""
        opened = [inbound for inbound in open_now if inbound.id not in done]
        for ran, inbound in enumerate(opened):
            if ran and self._yielding > 0 and len(opened) - ran >= HAND_OFF_BEHIND:
                self._yielding -= 1
                return "hand off"
            if not await self.process(inbound, self.leases.token()):
                return "closing"
            done.add(inbound.id)
            _pop(queue, done)
        return "done"

    async def resume(self, host: Host) -> int:
        """Start a worker for each conversation with open work nobody runs, up to this
        replica's fair share of the open conversations."""
        keys = await self.leases.orphaned(1000)
        now = time.monotonic()
        self._handed = {k: at for k, at in self._handed.items()
                        if now - at < 2 * self._sweep_every}
        keys = [k for k in keys if k not in self._handed]
        keys = keys[:await self._room(len(keys))]
        for key in keys:
            host.wake(key)
        if keys:
            log.info("resumed", conversations=len(keys))
        return len(keys)

    async def _room(self, orphans: int) -> int:
        """How many more conversations to take; sets how many to hand off. A holder keeps a
        conversation while it has open work, so without this a backlog stays on the replica
        that survived the longest while the others idle."""
        replicas = await self.leases.replicas()
        if replicas <= 1:
            self._yielding = 0
            return orphans
        mine = self.leases.holding()
        fair = share(await self.leases.active() + orphans, replicas)
        self._yielding = max(0, mine - fair)
        return max(1, fair - mine)  # at least one: never all replicas waiting on each other

    def start(self, host: Host) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(host), name="dispatch:sweep")

    async def _sweep(self, host: Host) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), self._sweep_every)
                return
            except TimeoutError:
                pass
            try:
                await self.resume(host)
            except Exception as err:  # the database is away: the next sweep tries again
                log.warning("sweep_failed", error=type(err).__name__)

    async def close(self) -> None:
        if self._sweeper is not None:
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
