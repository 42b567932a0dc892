"""Prompt size and prefix reuse over a long conversation, through the real agent.

One direct chat replays the synthetic life's turns against the fake LLM (in-process, on
loopback) with learning on: extraction answers are scripted from the labelled facts, the
summarizer gets a fixed-size summary. Each chat prompt's tokens and the share of it that
is a prefix of the previous one (what the GPU's KV cache can reuse) are recorded.
"""

from __future__ import annotations

import itertools
import json
import tempfile
from pathlib import Path
from typing import Any

from bench.common import mean, print_table
from bench.memory.data import Life
from bots import assembly
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.llm import OpenAIChatModel
from core.memory.service import MemorySettings
from core.profile import BotProfile
from core.settings import LLMSettings
from core.store.sqlite import SQLiteStore
from core.tokens import message_tokens
from tests.fakes.llm import FakeLLM, running_fake_llm

REPLY = ("Sure — here is a thought on that. " * 6).strip()
SUMMARY = "They talked about family, work, travel and hobbies; " * 12


def _answer(facts: dict[str, str]) -> Any:
    def reply(body: dict[str, Any]) -> str:
        if "response_format" in body:
            said = body["messages"][1]["content"].split("<messages>", 1)[-1]
            found = [m for s, m in facts.items() if s in said]
            return json.dumps({"memories": [
                {"decision": "new", "text": m, "kind": "fact", "confidence": 0.9,
                 "scope": "private"} for m in found]})
        if body["messages"][0]["content"].startswith("You maintain a running summary"):
            return SUMMARY
        return REPLY
    return reply


def _prefix_share(prev: str, cur: str) -> float:
    n = 0
    for a, b in zip(prev, cur, strict=False):
        if a != b:
            break
        n += 1
    return n / len(cur) if cur else 0.0


async def prompt_growth(life: Life, turns: int) -> None:
    facts = {f.said: f.memory for f in life.facts if not f.key.startswith("noise")}
    fake = FakeLLM(reply=_answer(facts))
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteStore(Path(tmp) / "bench.db")
            await store.open()
            model = OpenAIChatModel(LLMSettings(base_urls=[url], model="bench"))
            bots = {"kith": BotProfile("kith", "You are Kith. " * 40)}
            agent = assembly.agent(store, model, bots, memory=MemorySettings(learn=True))
            key = ConversationKey("kith", "bench", "dm")
            for n, (_, at, text) in enumerate(life.turns[:turns]):
                inbound = Inbound(id=f"bench:{n}", conversation=key, sender=Sender("me", "Me"),
                                  text=text, received_at=at, trust=Trust.OWNER,
                                  addressed=Addressed.DIRECT, chat=ChatKind.DIRECT)
                await agent.turn(inbound).drain()
                await agent.wait_background()
            await model.aclose()
            memories = len(await store.memories.memories(
                await store.person_for("bench", Sender("me"))))
            await store.close()
    chats = [b["messages"] for b in fake.chat_requests
             if "response_format" not in b
             and not b["messages"][0]["content"].startswith("You maintain a running summary")]
    flat = [json.dumps(m) for m in chats]
    tokens = [sum(message_tokens(x["content"]) for x in m) for m in chats]
    shares = [0.0] + [_prefix_share(flat[i - 1], flat[i]) for i in range(1, len(flat))]
    rows = []
    edges = [1, 10, 25, 50, 100, 200, 300, 400, 500, 600, 800, 1000]
    for lo, hi in itertools.pairwise(edges):
        if lo > len(tokens):
            break
        window = range(lo - 1, min(hi - 1, len(tokens)))
        rows.append([f"{lo}–{min(hi - 1, len(tokens))}", mean([tokens[i] for i in window]),
                     max(tokens[i] for i in window), mean([shares[i] for i in window])])
    print_table(f"Prompt tokens by turn index (one chat, {len(tokens)} turns, {memories} "
                "memories learned, budget 6000)",
                ["turns", "mean tokens", "max tokens", "prefix share"], rows)
    print(f"prefix share over all turns: mean {mean(shares[1:]):.3f}; "
          f"turns with ≥ 90% reuse: {sum(s >= 0.9 for s in shares[1:])}/{len(shares) - 1}")
