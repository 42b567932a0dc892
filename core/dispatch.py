"""The only orchestration: record, dedupe, order per conversation, bound concurrency, deliver.

``submit`` returns once the message is durably recorded, so a webhook may acknowledge the
platform right after it. Conversations run concurrently (at most ``concurrency`` turns at
once); inside one conversation messages are answered strictly in arrival order.

Delivery is the dispatcher's: a message goes ``pending → answered → delivered`` in the
Store. A turn holds a concurrency slot only while the model works; delivery (paced by the
platform) runs outside it. When ``deliver`` raises, the stored reply is delivered again with
backoff — never by asking the model again — until the platform takes it or
``give_up_after`` passes (``undeliverable``). When no model answers, the person is told
once, the message is ``held`` and answered when a model answers again, within ``hold_for``;
past it they are told it was dropped.

Across replicas (PostgreSQL) a conversation's turns run where its lease is
(:class:`core.coordination.TurnLeases`): any replica records a message; the one that holds
or takes the lease runs the conversation, reading each next message from the inbox (so
messages accepted elsewhere keep their arrival order), and releases it when the inbox has
nothing open. A sweep takes over conversations whose holder died, and shares the open ones
fairly: a replica holding more than its share hands the excess off between turns.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Literal, Protocol

from core import metrics
from core.coordination import TURN_FENCE, LeaseLost, LocalLeases, TurnLeases
from core.courier import Channel, Courier
from core.events import Inbound, Outbound, ReplyStatus
from core.logging import bound_context, get_logger
from core.reply import DeliveryError, Reply
from core.settings import DeliverySettings
from core.store.base import Delivery, InboxStatus, Store, TurnRecord

log = get_logger("kith.dispatch")
FINISHED = (InboxStatus.DELIVERED, InboxStatus.UNDELIVERABLE, InboxStatus.DONE,
            InboxStatus.FAILED)


class TurnRunner(Protocol):
    def turn(self, inbound: Inbound, *, held: bool = False) -> Reply: ...


def _now() -> datetime:
    return datetime.now(UTC)


HAND_OFF_BEHIND = 3  # open messages: a conversation this far behind may go to another replica


def share(conversations: int, replicas: int) -> int:
    """A replica's fair share of the open conversations: an even split, plus one."""
    return -(-conversations // replicas) + 1


class Dispatcher:
    def __init__(self, store: Store, agent: TurnRunner, concurrency: int = 64,
                 delivery: DeliverySettings | None = None, *,
                 leases: TurnLeases | None = None, sweep_every: float = 2.0) -> None:
        self.store = store
        self.agent = agent
        self.delivery = delivery or DeliverySettings()
        self.leases: TurnLeases = leases or LocalLeases()
        self._sweep_every = sweep_every
        self._sweeper: asyncio.Task[None] | None = None
        self._yielding = 0  # replicas: conversations to hand off after their current turn
        self._handed: dict[str, float] = {}  # handed off at (monotonic): not taken back at once
        self._queues: dict[str, deque[Inbound]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False
        self._stop = asyncio.Event()
        self.courier = Courier(store, self.delivery, self._stop)
        self._running = asyncio.Event()  # workers start once set (see resume)
        self._running.set()

    def register(self, bot: str, channel: str, target: Channel) -> None:
        self.courier.register(bot, channel, target)

    async def submit(self, inbound: Inbound) -> bool:
        """Record durably and queue. False when the id was seen before (a platform retry)."""
        if self._closing:
            raise RuntimeError("dispatcher is shutting down")
        metrics.MESSAGES_IN.labels(channel=inbound.conversation.channel).inc()
        if not await self.store.record_inbound(inbound):
            metrics.DUPLICATES.labels(channel=inbound.conversation.channel).inc()
            log.debug("duplicate_dropped", message_id=inbound.id)
            return False
        self._enqueue(inbound)
        return True

    async def resume(self, *, run: bool = True,
                     only: Callable[[Inbound], bool] | None = None) -> int:
        """Queue what is still open after a crash or restart: not answered, answered but not
        delivered, held for a model. Call it before any channel takes new messages.

        ``run=False`` queues without starting work until :meth:`run` (channels start in
        between: they take new messages, queued behind the resumed ones)."""
        if not run:
            self._running.clear()
        if self.leases.replicated:
            return await self._take_orphans()
        waiting = await self.store.pending()
        queued = {item.id for q in self._queues.values() for item in q}
        fresh = [item for item in waiting if item.id not in queued
                 and (only is None or only(item))]  # kith chat: its own channel only
        for inbound in fresh:
            self._enqueue(inbound)
        if fresh:
            log.info("resumed", count=len(fresh))
        return len(fresh)

    def run(self) -> None:
        """Let queued work start (after ``resume(run=False)``)."""
        self._running.set()
        if self.leases.replicated and self._sweeper is None:
            self._sweeper = asyncio.create_task(self._sweep(), name="dispatch:sweep")

    async def _take_orphans(self) -> int:
        """Replicas: start a worker for each conversation with open work nobody runs, up to
        this replica's fair share of the open conversations."""
        keys = await self.leases.orphaned(1000)
        now = time.monotonic()
        self._handed = {k: at for k, at in self._handed.items()
                        if now - at < 2 * self._sweep_every}
        keys = [k for k in keys if k not in self._handed]
        keys = keys[:await self._room(len(keys))]
        for key in keys:
            self._wake(key)
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

    async def _sweep(self) -> None:
        while not self._stop.is_set():
            try:
                await asyncio.wait_for(self._stop.wait(), self._sweep_every)
                return
            except TimeoutError:
                pass
            try:
                await self._take_orphans()
            except Exception as err:  # the database is away: the next sweep tries again
                log.warning("sweep_failed", error=type(err).__name__)

    def _wake(self, key: str) -> None:
        """A sweep found open work nobody runs: make sure a worker looks at the
        conversation; it reads what to do from the inbox."""
        if not self._closing:
            self._start(key)

    def _enqueue(self, inbound: Inbound) -> None:
        key = str(inbound.conversation)
        self._queues.setdefault(key, deque()).append(inbound)
        metrics.QUEUE_DEPTH.inc()
        self._start(key)

    def _start(self, key: str) -> None:
        """The conversation's worker, unless it has one running."""
        self._queues.setdefault(key, deque())
        self._idle.clear()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"conv:{key}")

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        held = False
        try:
            await self._running.wait()
            if not self.leases.replicated:
                while queue:
                    if not await self._process(queue[0]):
                        break  # shutting down while it waits: it stays open and resumes
                    queue.popleft()
                    metrics.QUEUE_DEPTH.dec()
                return
            done: set[str] = set()
            TURN_FENCE.set(self.leases.token())  # this task's turns commit only while held
            while not self._closing:
                if not self.courier.delivers_here(key):  # its channel's leader takes it
                    return
                held = await self.leases.acquire(key)
                if not held:  # another replica runs it: it reads our message from the inbox
                    return  # after it releases, at the latest (see TurnLeases)
                try:
                    outcome = await self._run_conversation(key, queue, done)
                except LeaseLost:  # taken over while this replica was away: the holder runs it
                    log.warning("lease_lost", conversation=key)
                    return  # (released below: forgotten here, the row is no longer ours)
                if outcome == "closing":
                    return
                held = False
                await self.leases.release(key)
                if outcome == "hand off":  # its open work goes to another replica's sweep
                    self._handed[key] = time.monotonic()
                    log.info("conversation_handed_off", conversation=key)
                    return
                if not await self._next_open(key, done):  # nothing arrived meanwhile
                    return
        finally:
            if held:
                with contextlib.suppress(Exception):
                    await self.leases.release(key)
            del self._workers[key]
            metrics.QUEUE_DEPTH.dec(len(queue))
            del self._queues[key]
            if not self._workers:
                self._idle.set()

    async def _run_conversation(self, key: str, queue: deque[Inbound],
                                done: set[str]) -> Literal["done", "closing", "hand off"]:
        """Replicas: answer the conversation's open messages in inbox order, until none is
        open, the dispatcher shuts down, or this replica holds more than its share and the
        conversation is behind (a pause of one sweep costs less than the backlog)."""
        ran = False
        while opened := await self._open(key, done):
            if ran and self._yielding > 0 and len(opened) >= HAND_OFF_BEHIND:
                self._yielding -= 1
                return "hand off"
            inbound = opened[0]
            if not await self._process(inbound):
                return "closing"
            ran = True
            done.add(inbound.id)
            while queue and queue[0].id in done:
                queue.popleft()
                metrics.QUEUE_DEPTH.dec()
        return "done"

    async def _open(self, key: str, done: set[str]) -> list[Inbound]:
        return [inbound for inbound in await self.store.open_in(key) if inbound.id not in done]

    async def _next_open(self, key: str, done: set[str]) -> Inbound | None:
        opened = await self._open(key, done)
        return opened[0] if opened else None

    async def _process(self, inbound: Inbound) -> bool:
        """Answer and deliver one message; False when it must wait for a restart."""
        conv = inbound.conversation
        with bound_context(bot=conv.bot, channel=conv.channel, conversation=str(conv),
                           message_id=inbound.id):
            state = await self.store.delivery(inbound.id) or Delivery(InboxStatus.PENDING)
            if state.status in FINISHED:
                return True
            if state.status is InboxStatus.ANSWERED:
                return await self.courier.redeliver(inbound, state, first=True)
            return await self._answer(inbound, state)

    # -- turns ---------------------------------------------------------------------------

    async def _answer(self, inbound: Inbound, state: Delivery) -> bool:
        """Run the turn (again, while every model is down) and deliver its reply."""
        tries = 0
        while True:
            held = state.status is InboxStatus.HELD
            if held and state.held_since is not None and \
                    (_now() - state.held_since).total_seconds() > self.delivery.hold_for:
                await self.courier.drop(inbound)
                return True
            started = time.perf_counter()
            outcome = await self._run_turn(inbound, state, held)
            if outcome is None:  # the turn crashed: recorded as failed
                return True
            reply, sending = outcome
            if reply.status is ReplyStatus.FAILED:  # no model answered
                if sending is not None:  # the notice: best effort, never re-delivered
                    await asyncio.gather(sending, return_exceptions=True)
                if not held:
                    await self.store.hold(inbound.id, _now())
                    metrics.HELD.labels(outcome="held").inc()
                    log.warning("held_for_model")
                tries += 1
                if not await self.courier.pause(tries):
                    return False
                state = await self.store.delivery(inbound.id) or state
                continue
            if held:
                metrics.HELD.labels(outcome="answered").inc()
            return await self._settle(inbound, reply, sending, started)

    async def _run_turn(self, inbound: Inbound, state: Delivery,
                        held: bool) -> tuple[Reply, asyncio.Task[Outbound] | None] | None:
        """Start the turn and its delivery; return once the model is done (slot freed)."""
        sending: asyncio.Task[Outbound] | None = None
        async with self._slots:
            reply = self.agent.turn(inbound, held=held)
            reply.shown = state.platform_ids
            reply.on_sent(lambda ids: self.store.record_sent(inbound.id, ids))
            try:
                if held:  # show nothing until a model answers
                    await reply.started()
                if reply.text or not reply.done:
                    sending = asyncio.create_task(self.courier.deliver(inbound, reply))
                await reply.finished()
            except asyncio.CancelledError:
                reply.cancel()  # shutting down: the message stays open and resumes
                if sending is not None:
                    sending.cancel()
                raise
        error = reply.error
        if isinstance(error, LeaseLost):  # nothing was written, and nothing is delivered
            if sending is not None:
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
            raise error
        if error is not None:
            log.error("turn_crashed", error=repr(error))
            if sending is not None:
                await asyncio.gather(sending, return_exceptions=True)
            await self._mark_failed(inbound)
            return None
        return reply, sending

    async def _settle(self, inbound: Inbound, reply: Reply,
                      sending: asyncio.Task[Outbound] | None, started: float) -> bool:
        conv = inbound.conversation
        if not reply.text.strip():  # nothing to deliver (context only, or silent refusal)
            if sending is not None:
                await asyncio.gather(sending, return_exceptions=True)
            return True
        try:
            if sending is None:
                raise DeliveryError("delivery did not start")
            out = await sending
        except DeliveryError as err:
            log.warning("delivery_failed", error=str(err), permanent=err.permanent)
            state = await self.store.delivery(inbound.id)
            if state is None or state.status is not InboxStatus.ANSWERED:
                return True
            if err.permanent:
                await self.courier.undeliverable(inbound)
                return True
            return await self.courier.redeliver(inbound, state, first=False)
        await self.store.mark_delivered(inbound.id, out.platform_ids or reply.shown)
        metrics.TURN_SECONDS.observe(time.perf_counter() - started)
        metrics.MESSAGES_OUT.labels(channel=conv.channel, status=reply.status.value).inc()
        return True

    async def _mark_failed(self, inbound: Inbound) -> None:
        try:
            await self.store.finish_turn(TurnRecord(inbound, "", None, None, InboxStatus.FAILED))
        except Exception:
            log.exception("mark_failed_failed")

    async def join(self) -> None:
        """Wait until every queued message has been answered (or is waiting to be retried
        and the dispatcher is closing)."""
        await self._idle.wait()

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking messages; let running turns finish, cancel the rest (they resume).
        Work that waits to be retried stops at once: it stays open in the store."""
        self._closing = True
        self._stop.set()
        if self._sweeper is not None:
            await asyncio.gather(self._sweeper, return_exceptions=True)
            self._sweeper = None
        try:
            await asyncio.wait_for(self.join(), grace)
        except TimeoutError:
            for task in list(self._workers.values()):
                task.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
