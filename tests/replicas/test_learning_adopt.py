"""Memory extraction across replicas on PostgreSQL: queued work that a dead replica was
timing is adopted by a live one (``Learner.adopt``), and two replicas timing the same
conversation extract it once."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path
from typing import Any

from core.memory.service import MemorySettings
from core.settings import MemoryConfig
from core.store.postgres.store import PostgresStore
from tests.core.memory.harness import is_extraction, item, memories_json, memory_core, msg
from tests.fakes.llm import FakeLLM

DEFAULTS = MemorySettings.of(MemoryConfig(), embed=False)  # what a user gets
QUICK = replace(DEFAULTS, quiet_seconds=0.3)
SLOW = replace(DEFAULTS, quiet_seconds=3600)  # a replica whose timer never fires here
SAID = ["my sister Ada lives in Oslo", "my brother Bo lives in Rome", "I am allergic to nuts"]


def answer(body: dict[str, Any]) -> str:
    if not is_extraction(body):
        return "ok"
    return memories_json(item("Ana's sister Ada lives in Oslo", message=1))


def extractions(fake: FakeLLM) -> int:
    return sum(1 for body in fake.chat_requests if is_extraction(body))


async def until_extracted(fake: FakeLLM, want: int) -> None:
    async with asyncio.timeout(10):
        while extractions(fake) < want:
            await asyncio.sleep(0.02)
    await asyncio.sleep(1.0)  # and nothing more comes


async def test_work_noted_by_a_replica_that_died_is_adopted_and_extracted_once(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], pg_url: str) -> None:
    fake, url = fake_llm
    fake.reply = answer
    async with memory_core(tmp_path / "b", url, settings=QUICK,
                           store=PostgresStore(pg_url)) as survivor:
        # B is up before A notes anything, so its own start-up resume saw an empty queue
        async with memory_core(tmp_path / "a", url, settings=SLOW,
                               store=PostgresStore(pg_url)) as doomed:
            for text in SAID:
                await doomed.say(msg("web", "ana", text))
        # A is gone, its timer with it: the three turns wait in the queue, timed by nobody
        await asyncio.sleep(QUICK.quiet_seconds * 3)
        assert extractions(fake) == 0
        assert await survivor.agent.learner.adopt() == 1
        assert await survivor.agent.learner.adopt() == 0  # armed here already
        await until_extracted(fake, 1)
        assert extractions(fake) == 1
        [call] = [b for b in fake.chat_requests if is_extraction(b)]
        assert all(text in str(call) for text in SAID)  # one batch covering all three
        assert await survivor.store.memories.queue.waiting() == []
        assert await survivor.agent.learner.adopt() == 0


async def test_two_replicas_timing_one_conversation_extract_it_once(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], pg_url: str) -> None:
    fake, url = fake_llm
    fake.reply = answer
    async with memory_core(tmp_path / "a", url, settings=QUICK,
                           store=PostgresStore(pg_url)) as one, \
            memory_core(tmp_path / "b", url, settings=QUICK,
                        store=PostgresStore(pg_url)) as other:
        for text in SAID:
            await one.say(msg("web", "ana", text))
        assert await other.agent.learner.adopt() == 1  # both now time the conversation
        await until_extracted(fake, 1)
        assert extractions(fake) == 1
        assert await other.store.memories.queue.waiting() == []
