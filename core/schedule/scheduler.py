"""Feeds due scheduled turns to the dispatcher, like any inbound message.

No polling of the table: the scheduler asks the index for the next due time, sleeps until
then, and is woken early when a schedule is added or cancelled. Claimed occurrences are
submitted (the inbox records them before anything else happens) and only then marked
submitted; after a crash in between, the next start submits them again and the inbox's
dedupe keeps it to one turn.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from core.events import Inbound
from core.logging import get_logger
from core.schedule.model import ScheduleStore

log = get_logger("kith.scheduler")

Submit = Callable[[Inbound], Awaitable[bool]]
BATCH = 500
MAX_SLEEP = 3600.0  # re-check at least hourly (clock jumps, rows written by other replicas)


class Scheduler:
    def __init__(self, store: ScheduleStore, submit: Submit,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC),
                 max_sleep: float = MAX_SLEEP) -> None:
        """``max_sleep``: with replicas, a schedule written by another replica wakes only
        that one; the others look again at least this often (a replica that died after
        claiming an occurrence leaves it to the others' ``unsubmitted``)."""
        self.store = store
        self.max_sleep = max_sleep
        self.submit = submit
        self.clock = clock
        self.fired = 0
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        store.subscribe(self.wake)

    def wake(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="scheduler")

    async def stop(self) -> None:
        self._stopping = True  # a cancel racing a wake-up must still end the loop
        self._wake.set()
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _flush(self) -> None:
        """Submit every claimed occurrence not yet submitted (also those of a crashed run)."""
        occurrences = await self.store.unsubmitted()
        for inbound in occurrences:
            await self.submit(inbound)  # False: already recorded by an earlier attempt
        if occurrences:
            await self.store.mark_submitted([i.id for i in occurrences])
            self.fired += len(occurrences)

    async def tick(self) -> float:
        """Fire what is due now; seconds until the next occurrence (MAX_SLEEP if none)."""
        await self._flush()
        while True:
            claimed = await self.store.claim_due(self.clock(), BATCH)
            if claimed:
                log.info("scheduled_turns_due", count=len(claimed))
                await self._flush()
            if len(claimed) < BATCH:
                break
        upcoming = await self.store.next_due()
        if upcoming is None:
            return self.max_sleep
        return min(self.max_sleep, max(0.0, (upcoming - self.clock()).total_seconds()))

    async def _run(self) -> None:
        while not self._stopping:
            self._wake.clear()  # before the tick: a change during it wakes the next wait
            try:
                delay = await self.tick()
            except Exception:  # a bad row or a busy database must not stop reminders
                log.exception("scheduler_tick_failed")
                delay = 1.0
            if delay > 0 and not self._stopping:
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(delay):
                        await self._wake.wait()
