"""The only orchestration: record, dedupe, order per conversation, bound concurrency, deliver.

``submit`` returns once the message is durably recorded, so a webhook may acknowledge the
platform right after it. Conversations run concurrently (at most ``concurrency`` turns at
once); inside one conversation messages are answered strictly in arrival order.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from typing import Protocol

from core import metrics
from core.events import Inbound, ReplyStatus
from core.logging import bound_context, get_logger
from core.reply import Reply
from core.store.base import InboxStatus, Store, TurnRecord

log = get_logger("kith.dispatch")


class Channel(Protocol):
    """Where replies of one (bot, channel) go. Adapters implement it."""

    async def deliver(self, inbound: Inbound, reply: Reply) -> None: ...


class TurnRunner(Protocol):
    def turn(self, inbound: Inbound) -> Reply: ...


class Dispatcher:
    def __init__(self, store: Store, agent: TurnRunner, concurrency: int = 64) -> None:
        self.store = store
        self.agent = agent
        self._channels: dict[tuple[str, str], Channel] = {}
        self._queues: dict[str, deque[Inbound]] = {}
        self._workers: dict[str, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(concurrency)
        self._idle = asyncio.Event()
        self._idle.set()
        self._closing = False

    def register(self, bot: str, channel: str, target: Channel) -> None:
        self._channels[(bot, channel)] = target

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

    async def resume(self) -> int:
        """Queue what was recorded but not answered before a crash or restart."""
        waiting = await self.store.pending()
        queued = {item.id for q in self._queues.values() for item in q}
        fresh = [item for item in waiting if item.id not in queued]
        for inbound in fresh:
            self._enqueue(inbound)
        if fresh:
            log.info("resumed", count=len(fresh))
        return len(fresh)

    def _enqueue(self, inbound: Inbound) -> None:
        key = str(inbound.conversation)
        queue = self._queues.setdefault(key, deque())
        queue.append(inbound)
        metrics.QUEUE_DEPTH.inc()
        self._idle.clear()
        if key not in self._workers:
            self._workers[key] = asyncio.create_task(self._work(key), name=f"conv:{key}")

    async def _work(self, key: str) -> None:
        queue = self._queues[key]
        try:
            while queue:
                inbound = queue[0]
                async with self._slots:
                    await self._process(inbound)
                queue.popleft()
                metrics.QUEUE_DEPTH.dec()
        finally:
            del self._workers[key]
            if not queue:
                del self._queues[key]
            if not self._workers:
                self._idle.set()

    async def _process(self, inbound: Inbound) -> None:
        conv = inbound.conversation
        started = time.perf_counter()
        with bound_context(bot=conv.bot, channel=conv.channel, conversation=str(conv),
                           message_id=inbound.id):
            reply = self.agent.turn(inbound)
            try:
                await self._deliver(inbound, reply)
            except asyncio.CancelledError:
                reply.cancel()  # shutting down: the message stays pending and resumes
                raise
            metrics.TURN_SECONDS.observe(time.perf_counter() - started)
            if reply.text:
                metrics.MESSAGES_OUT.labels(channel=conv.channel, status=reply.status.value).inc()

    async def _deliver(self, inbound: Inbound, reply: Reply) -> None:
        conv = inbound.conversation
        target = self._channels.get((conv.bot, conv.channel))
        try:
            if target is None:
                log.error("no_channel_for_reply")
            else:
                await target.deliver(inbound, reply)
        except Exception:
            log.exception("delivery_failed")
        try:
            await reply.drain()
        except Exception:
            log.exception("turn_crashed")
            await self._mark_failed(inbound)
            reply.status = ReplyStatus.FAILED

    async def _mark_failed(self, inbound: Inbound) -> None:
        try:
            await self.store.finish_turn(TurnRecord(inbound, "", None, None, InboxStatus.FAILED))
        except Exception:
            log.exception("mark_failed_failed")

    async def join(self) -> None:
        """Wait until every queued message has been answered."""
        await self._idle.wait()

    async def close(self, grace: float = 10.0) -> None:
        """Stop taking messages; let running turns finish, cancel the rest (they resume)."""
        self._closing = True
        try:
            await asyncio.wait_for(self.join(), grace)
        except TimeoutError:
            for task in list(self._workers.values()):
                task.cancel()
            await asyncio.gather(*self._workers.values(), return_exceptions=True)
