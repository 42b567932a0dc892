"""The only orchestration: record, dedupe, order per conversation, bound concurrency.

``submit`` returns once the message is durably recorded, so a webhook may acknowledge the
platform right after it. Conversations run concurrently (at most ``concurrency`` turns at
once); inside one conversation messages are answered strictly in arrival order.

A message's life (``pending → answered → delivered``, held while no model answers,
re-delivered from the store while the platform refuses it) is decided by the pure machine
in :mod:`core.inbox.lifecycle` and carried out by its driver (:mod:`core.inbox.driver`).
How a conversation's messages are run is a strategy (:mod:`core.inbox.runners`): in one
process its queue; among replicas on PostgreSQL where its lease is.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from typing import Protocol

from core import metrics
from core.coordination import LocalLeases, SharedTurns, TurnLeases
from core.events import ConversationKey, Inbound
from core.inbox.delivery import Channel, Channels
from core.inbox.driver import Driver, TurnRunner, policy_of
from core.inbox.runners import LeasedRunner, LocalRunner
from core.inbox.store import InboxStore, Ledger
from core.logging import get_logger
from core.settings import DeliverySettings

log = get_logger("kith.dispatch")


class DispatchStore(InboxStore, Ledger, Protocol):
    """The inbox (what is recorded and open) and what the driver writes."""


class Dispatcher:
    def __init__(self, store: DispatchStore, agent: TurnRunner, concurrency: int = 64,
                 delivery: DeliverySettings | None = None, *,
                 leases: TurnLeases | None = None, sweep_every: float = 2.0) -> None:
        self.store = store
        self.agent = agent
        self.delivery = delivery or DeliverySettings()
        self.leases: TurnLeases = leases or LocalLeases()
        self.channels = Channels()
        self._queues: dict[ConversationKey, deque[Inbound]] = {}
        self._workers: dict[ConversationKey, asyncio.Task[None]] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._stop = asyncio.Event()
        self.driver = Driver(store, agent, self.channels, policy_of(self.delivery),
                             asyncio.Semaphore(concurrency), self._stop)
        self.runner: LocalRunner | LeasedRunner = (
            LeasedRunner(self.driver.process, self.leases, self.channels, self._stop,
                         sweep_every)
            if isinstance(self.leases, SharedTurns) else LocalRunner(store, self.driver.process))
        self._running = asyncio.Event()  # workers start once set (see resume)
        self._running.set()

    def register(self, bot: str, channel: str, target: Channel) -> None:
        self.channels.register(bot, channel, target)

    async def submit(self, inbound: Inbound) -> bool:
        """Record durably and queue. False when the id was seen before (a platform retry)."""
        if self._closing:
            raise RuntimeError("dispatcher is shutting down")
        metrics.MESSAGES_IN.labels(channel=inbound.conversation.channel).inc()
        if not await self.store.record_inbound(inbound):
            metrics.DUPLICATES.labels(channel=inbound.conversation.channel).inc()
            log.debug("duplicate_dropped", message_id=inbound.id)
            return False
        await self.driver.arrived(inbound)  # behind a held message: told so at once
        self.enqueue(inbound)
        return True

    async def resume(self, *, run: bool = True,
                     only: Callable[[Inbound], bool] | None = None) -> int:
        """Queue what is still open after a crash or restart: not answered, answered but not
        delivered, held for a model. Call it before any channel takes new messages.

        ``run=False`` queues without starting work until :meth:`run` (channels start in
        between: they take new messages, queued behind the resumed ones)."""
        if not run:
            self._running.clear()
        return await self.runner.resume(self if only is None else _Only(self, only))

    def run(self) -> None:
        """Let queued work start (after ``resume(run=False)``)."""
        self._running.set()
        self.runner.start(self)

    # -- the runner's host ---------------------------------------------------------------

    def queued(self) -> set[str]:
        return {item.id for q in self._queues.values() for item in q}

    def wake(self, key: ConversationKey) -> None:
        """Open work nobody runs: make sure a worker looks at the conversation; it reads
        what to do from the inbox."""
        if not self._closing:
            self._start(key)

    def enqueue(self, inbound: Inbound) -> None:
        key = inbound.conversation
        self._queues.setdefault(key, deque()).append(inbound)
        metrics.QUEUE_DEPTH.inc()
        self._start(key)

    def _start(self, key: ConversationKey) -> None:
        """The conversation's worker, unless it has one running."""
        self._queues.setdefault(key, deque())
        self._idle.clear()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"conv:{key}")

    async def _work(self, key: ConversationKey) -> None:
        queue = self._queues[key]
        try:
            await self._running.wait()
            await self.runner.work(key, queue)
        finally:
            del self._workers[key]
            metrics.QUEUE_DEPTH.dec(len(queue))
            del self._queues[key]
            if not self._workers:
                self._idle.set()

    async def join(self) -> None:
        """Wait until every queued message has been answered (or is waiting to be retried
        and the dispatcher is closing)."""
        await self._idle.wait()

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking messages; let running turns finish, cancel the rest (they resume).
        Work that waits to be retried stops at once: it stays open in the store."""
        self._closing = True
        self._stop.set()
        await self.runner.close()
        try:
            await asyncio.wait_for(self.join(), grace)
        except TimeoutError:
            for task in list(self._workers.values()):
                task.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
        await self.driver.close()


class _Only:
    """The dispatcher as a runner's host, taking only the resumed messages ``keep`` wants
    (``kith chat`` resumes its own channel's, not the page's or Telegram's)."""

    def __init__(self, host: Dispatcher, keep: Callable[[Inbound], bool]) -> None:
        self.host, self.keep = host, keep

    def enqueue(self, inbound: Inbound) -> None:
        if self.keep(inbound):
            self.host.enqueue(inbound)

    def wake(self, key: ConversationKey) -> None:
        self.host.wake(key)

    def queued(self) -> set[str]:
        return self.host.queued()
