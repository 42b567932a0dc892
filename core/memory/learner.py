"""When extraction runs: once per conversation and person, off the reply path, in batches.

Every answered turn is *noted* in the Store's learning queue (durable). A conversation is
extracted when it has been quiet for ``quiet_seconds`` or after ``every_turns`` answered
turns, in one model call covering all the person's messages since the last extraction.
Timers live in memory only as a wake-up: the work itself is rows, so a restart loses none
(``resume`` re-arms every waiting row) and a key is claimed with a lease before it runs.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable

from core import metrics
from core.events import ConversationKey, Inbound
from core.ids import PersonId
from core.llm import LLMError
from core.logging import get_logger
from core.memory.model import LearningKey, LearningQueue, LearningWork
from core.memory.service import MemoryService

log = get_logger("kith.memory")

LEASE_SECONDS = 300.0
MAX_FAILURES = 5  # then the batch is dropped, loudly, rather than retried for ever


class Learner:
    def __init__(
        self, memory: MemoryService, queue: LearningQueue,
        model_for: Callable[[ConversationKey], str | None], wall: Callable[[], float] = time.time,
    ) -> None:
        self.memory = memory
        self.queue = queue
        self.model_for = model_for  # conversation key -> model name of its bot
        self.wall = wall  # lease clock (real time, whatever clock the turns use)
        self.settings = memory.settings
        self._timers: dict[LearningKey, asyncio.Task[None]] = {}
        self._running: dict[LearningKey, asyncio.Task[None]] = {}
        self._again: set[LearningKey] = set()

    async def note(self, inbound: Inbound, person: PersonId) -> None:
        """After an answered turn: store an explicit "remember that" now, and count the turn
        towards the conversation's next extraction. Cheap: one indexed write."""
        self.memory.vectors.kick()  # what the turn stored without a vector (a tool) gets one
        if not self.settings.learn or inbound.scheduled is not None:
            return  # a reminder or briefing Kith started: nobody wrote it
        await self.memory.remember_now(inbound, person)
        conv = inbound.conversation
        work = LearningWork(
            LearningKey(conv, person), conv.channel, inbound.sender.platform_id,
            inbound.sender.display_name, inbound.is_group, 0, 0,
        )
        pending = await self.queue.note(work, inbound.id, self.wall())
        if pending >= self.settings.every_turns:
            self._start(work.key)
        else:
            self._arm(work.key, self.settings.quiet_seconds)

    async def resume(self) -> None:
        """After a start: every conversation with waiting turns gets its quiet time again,
        and memories without a vector (embeddings turned on since) get theirs."""
        self.memory.vectors.kick()
        for work in await self.queue.waiting():
            self._arm(work.key, self.settings.quiet_seconds)

    async def adopt(self) -> int:
        """Replicas: arm what waits in the queue but nobody here is timing (noted by a
        replica that died); the claim's lease keeps two replicas off one key."""
        adopted = 0
        for work in await self.queue.waiting():
            if work.key not in self._timers and work.key not in self._running:
                self._arm(work.key, self.settings.quiet_seconds)
                adopted += 1
        return adopted

    async def flush(self) -> None:
        """Extract everything waiting now and wait for it (benchmarks, tests, shutdown)."""
        for work in await self.queue.waiting():
            self._start(work.key)
        await self.idle()

    async def idle(self) -> None:
        """Wait until no extraction is running (timers still armed keep waiting)."""
        while self._running:
            await asyncio.gather(*list(self._running.values()), return_exceptions=True)

    async def close(self) -> None:
        """Stop timers and running extractions; what they had not finished stays queued."""
        await self.memory.vectors.close()
        tasks = [*self._timers.values(), *self._running.values()]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._timers.clear()
        self._running.clear()

    # -- scheduling ----------------------------------------------------------------------

    def _arm(self, key: LearningKey, delay: float) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None:
            timer.cancel()
        self._timers[key] = asyncio.create_task(self._wake(key, delay))

    async def _wake(self, key: LearningKey, delay: float) -> None:
        await asyncio.sleep(delay)
        self._timers.pop(key, None)
        self._start(key)

    def _start(self, key: LearningKey) -> None:
        timer = self._timers.pop(key, None)
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        if key in self._running:
            self._again.add(key)  # turns noted meanwhile: run once more after this one
            return
        task = asyncio.create_task(self._run(key))
        self._running[key] = task
        task.add_done_callback(lambda _: self._finished(key))

    def _finished(self, key: LearningKey) -> None:
        self._running.pop(key, None)
        if key in self._again:
            self._again.discard(key)
            self._start(key)

    # -- the work ------------------------------------------------------------------------

    async def _run(self, key: LearningKey) -> None:
        work = await self.queue.claim(key, self.wall(), LEASE_SECONDS)
        if work is None:
            return  # nothing waiting, or another worker holds it
        failed = True
        try:
            await self._extract(work)  # as background work (a local model serves people first)
            failed = False
        except LLMError:
            pass  # logged by the service; the turns stay queued
        except Exception as err:  # background work must never take the agent down
            log.exception("memory_learn_failed", error=str(err))
        finally:  # also when cancelled at shutdown: the next start claims it at once
            failures = await self.queue.release(key, failed)
        if not failed:
            return
        if failures < MAX_FAILURES:
            self._arm(key, self.settings.quiet_seconds * 2 ** failures)
            return
        metrics.MEMORY_EXTRACT_FAILURES.labels(reason="dropped").inc()
        log.error("memory_batch_dropped", conversation=str(key.conversation),
                  failures=failures)
        await self._skip(work)

    async def _extract(self, work: LearningWork) -> None:
        cursor, limit = work.upto_seq, self.settings.batch_messages
        model = self.model_for(work.key.conversation)
        while True:
            said = await self.queue.said_since(work.key, cursor, limit)
            if said:
                written = await self.memory.learn_batch(work, said, model)
                cursor = said[-1].seq
                metrics.MEMORY_BATCHES.inc()
                log.info("memory_batch", conversation=str(work.key.conversation),
                         messages=len(said), written=written)
            if len(said) < limit:
                await self.queue.advance(work.key, cursor, work.pending)
                return
            await self.queue.advance(work.key, cursor, 0)

    async def _skip(self, work: LearningWork) -> None:
        """Move the cursor past turns that failed too often (they are still in history)."""
        cursor, limit = work.upto_seq, self.settings.batch_messages
        while said := await self.queue.said_since(work.key, cursor, limit):
            cursor = said[-1].seq
        await self.queue.advance(work.key, cursor, work.pending)
