"""Every memory gets its vector when embeddings are configured, whatever stored it.

The stores keep a queue of memories without a vector (``memory_unembedded``, filled by
triggers: any insert without one, any edit of a memory's words, and everything stored
before embeddings were turned on). :class:`VectorFill` drains it in the background in
batches of the embedder's size; :meth:`kick` is called before and after every turn and at
start, and returns at once. A batch the embedder refuses stops the drain until the next
kick, so a failing server is not asked in a loop.
"""

from __future__ import annotations

import asyncio

from core import metrics
from core.llm import LLMError
from core.logging import get_logger
from core.memory.embedder import Embedder
from core.memory.model import MemoryStore

BATCH = 32
log = get_logger("kith.memory")


class VectorFill:
    def __init__(self, store: MemoryStore, embedder: Embedder, enabled: bool) -> None:
        self.store = store
        self.embedder = embedder
        self.enabled = enabled
        self._task: asyncio.Task[int] | None = None

    def kick(self) -> None:
        """Start draining the queue in the background unless a drain is running."""
        if self.enabled and (self._task is None or self._task.done()):
            self._task = asyncio.get_running_loop().create_task(self.drain())

    async def drain(self) -> int:
        """Embed every waiting memory; returns how many got their vector."""
        done, last = 0, None
        while self.enabled:
            waiting = await self.store.unembedded(BATCH)
            if not waiting or waiting[0] == last:
                break  # done, or the store kept refusing them (a vector not finite)
            last = waiting[0]
            try:
                vectors = await self.embedder.embed([text for _, text in waiting])
            except (LLMError, IndexError) as err:
                log.warning("embed_failed", error=str(err), waiting=len(waiting))
                metrics.MEMORY_EMBED_FAILURES.inc()
                break
            if len(vectors) != len(waiting):
                log.warning("embed_failed", error="wrong number of vectors")
                break
            for (memory_id, _), vector in zip(waiting, vectors, strict=True):
                await self.store.set_vector(memory_id, vector)
                done += 1
        return done

    async def idle(self) -> None:
        """Wait for a drain under way (tests, shutdown)."""
        if self._task is not None:
            await asyncio.gather(self._task, return_exceptions=True)

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
