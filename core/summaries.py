"""Background upkeep of a conversation: its rolling summary, written off the turn's path."""

from __future__ import annotations

import asyncio

from core import metrics
from core.events import ConversationKey, Inbound
from core.llm import ChatModel, LLMError
from core.logging import get_logger
from core.profile import BotProfile
from core.prompt import summary_origin, summary_prompt
from core.store.base import ConversationStore

log = get_logger("kith.agent")
HISTORY_FETCH = 400  # most turns loaded after the summary's cutoff


class Summaries:
    """At most one summary in progress per conversation; cancelled ones run again later
    (nothing was advanced)."""

    def __init__(self, store: ConversationStore, model: ChatModel) -> None:
        self.store = store
        self.model = model
        self._tasks: set[asyncio.Task[None]] = set()
        self._running: set[ConversationKey] = set()

    def schedule(self, inbound: Inbound, bot: BotProfile) -> None:
        key = inbound.conversation
        if key in self._running:
            return
        self._running.add(key)
        task = asyncio.create_task(self._summarize(inbound, bot))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _summarize(self, inbound: Inbound, bot: BotProfile) -> None:
        conv = inbound.conversation
        try:
            state = await self.store.conversation(conv)
            turns = await self.store.history(conv, state.summary_upto, HISTORY_FETCH)
            if len(turns) < 4:
                return
            older = turns[: len(turns) * 2 // 3]  # keep the newest third verbatim
            result = await self.model.complete(  # a local model serves people first
                summary_prompt(state.summary, older), route_key=str(conv),
                model=bot.model, max_tokens=400, background=True,
            )
            if result.text.strip():
                await self.store.set_summary(
                    conv, state.epoch, result.text.strip(), older[-1].seq,
                    summary_origin(state.summary_origin, older, inbound.is_group))
                log.info("summary_updated", conversation=str(conv), upto=older[-1].seq)
        except LLMError as err:
            log.warning("summary_failed", conversation=str(conv), error=str(err))
            metrics.LLM_ERRORS.labels(endpoint="summary", kind="failed").inc()
        finally:
            self._running.discard(conv)

    def drop(self) -> None:
        for task in self._tasks:
            task.cancel()

    async def wait(self) -> None:
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
