"""What learning costs the model server, and what many memories cost a turn.

``cost``: one direct chat replays the synthetic life's turns through the real agent against
the fake LLM (loopback) with the settings a user gets — learning on (batched: every 20
turns or 60 s of quiet) — and again with learning off. Every request the server receives is
counted (chat, extraction, summaries) with its prompt tokens, per user message.

``turns``: one person with 10, 1,000 and 10,000 memories (issue 11, item 9): the latency
of a whole turn through the agent (prompt, recall, streamed reply from the fake, persist,
learning noted), p50/p95. Memories are stored before the clock starts; the fake answers
at once, so the figure is Kith's own work plus one loopback round trip.
"""

from __future__ import annotations

import json
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import percentile, print_table
from bench.memory.data import CITIES, NAMES, WORDS, Life
from bots import assembly
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.llm import OpenAIChatModel
from core.memory.model import MemoryKind, NewMemory, Source
from core.memory.service import MemorySettings
from core.profile import BotProfile
from core.settings import LLMSettings, MemoryConfig
from core.store.sqlite import SQLiteStore
from core.tokens import message_tokens
from tests.fakes.llm import FakeLLM, running_fake_llm

REPLY = ("Sure — here is a thought on that. " * 6).strip()
SUMMARY = "They talked about family, work, travel and hobbies; " * 12
PERSONA = "You are Kith, a helpful personal assistant. " * 30


def _answer(body: dict[str, Any]) -> str:
    if "response_format" in body:
        return json.dumps({"memories": [{"decision": "new", "text": "Has a sister in Porto",
                                         "kind": "fact", "confidence": 0.9,
                                         "scope": "private"}]})
    if body["messages"][0]["content"].startswith("You maintain a running summary"):
        return SUMMARY
    return REPLY


def inbound(n: int, text: str, at: Any = None) -> Inbound:
    extra = {"received_at": at} if at is not None else {}
    return Inbound(id=f"bench:{n}", conversation=ConversationKey("kith", "bench", "dm"),
                   sender=Sender("me", "Me"), text=text, addressed=Addressed.DIRECT,
                   trust=Trust.OWNER, chat=ChatKind.DIRECT, **extra)


async def _replay(life: Life, turns: int, settings: MemorySettings) -> tuple[int, int]:
    fake = FakeLLM(reply=_answer)
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteStore(Path(tmp) / "bench.db")
            await store.open()
            model = OpenAIChatModel(LLMSettings(base_urls=[url], model="bench"))
            agent = assembly.agent(store, model, {"kith": BotProfile("kith", PERSONA)},
                                   memory=settings)
            for n, (_, at, text) in enumerate(life.turns[:turns]):
                await agent.turn(inbound(n, text, at)).drain()
                await agent.wait_background()
            await agent.learner.flush()  # the tail a quiet conversation extracts
            await agent.learner.close()
            await model.aclose()
            await store.close()
    bodies = fake.chat_requests
    tokens = sum(message_tokens(m["content"]) for b in bodies for m in b["messages"])
    return len(bodies), tokens


async def cost(life: Life, turns: int) -> None:
    on = MemorySettings.of(MemoryConfig(), embed=False)
    off = replace(on, learn=False)
    rows, base = [], 0.0
    for name, settings in (("off", off), ("on (default)", on)):
        requests, tokens = await _replay(life, turns, settings)
        per = tokens / turns
        base = base or per
        rows.append([name, turns, requests / turns, round(per), per / base])
    print_table(f"Model requests and prompt tokens per user message, learning off vs on "
                f"(one chat, {turns} turns; chat + extraction + summaries; "
                f"extraction every {on.every_turns} turns or {on.quiet_seconds:g} s quiet)",
                ["learning", "messages", "requests/msg", "prompt tokens/msg", "× off"], rows)


async def _turns_with(memories: int, queries: int) -> list[float]:
    fake = FakeLLM(reply=_answer, record=False)
    rnd = random.Random(memories)
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteStore(Path(tmp) / "bench.db")
            await store.open()
            model = OpenAIChatModel(LLMSettings(base_urls=[url], model="bench"))
            agent = assembly.agent(store, model, {"kith": BotProfile("kith", PERSONA)},
                                   memory=MemorySettings.of(MemoryConfig(), embed=False))
            person = await store.person_for("bench", Sender("me", "Me"))
            for i in range(memories):
                text = (f"{rnd.choice(WORDS).title()} with {rnd.choice(NAMES)} in "
                        f"{rnd.choice(CITIES)} about the {rnd.choice(WORDS)} {i}")
                kind = MemoryKind.STYLE if i % 50 == 0 else MemoryKind.FACT
                await store.memories.add_memory(NewMemory(
                    person, text, kind, Source(f"m{i}", "bench", "me", agent.clock()), 0.9,
                ), agent.clock())
            times = []
            for n in range(queries + 20):
                text = (f"What about the {rnd.choice(WORDS)} with {rnd.choice(NAMES)} in "
                        f"{rnd.choice(CITIES)}?")
                t0 = time.perf_counter()
                await agent.turn(inbound(n, text)).drain()
                if n >= 20:  # warm-up: caches, connections
                    times.append((time.perf_counter() - t0) * 1000)
                await agent.wait_background()
            await agent.learner.close()
            await model.aclose()
            await store.close()
    return times


async def turn_latency(sizes: list[int], queries: int) -> None:
    rows, base = [], 0.0
    for size in sizes:
        times = await _turns_with(size, queries)
        p50 = percentile(times, 50)
        base = base or p50
        rows.append([f"{size:,}", queries, p50, percentile(times, 95), p50 / base])
    print_table("Turn latency by memories of one person (whole agent turn, fake model on "
                "loopback, learning on, lexical recall), ms",
                ["memories", "turns", "p50", "p95", "p50 × smallest"], rows)
