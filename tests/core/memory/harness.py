"""A real agent + store (SQLite, or any backend passed in) + OpenAI client around the fake
LLM, with scripted extraction.

The fake LLM answers chat (streamed) requests with "ok" and extraction requests (those with
``response_format``) from ``Brain.extractions``: the first key found in the messages wins.
By default extraction runs after every turn (``every_turns=1``) so a test can say one thing
and look at what was learned; the batching tests pass the product's own settings.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bots import assembly
from core.agent import Agent
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.llm import OpenAIChatModel
from core.memory.rerank import Reranker
from core.memory.service import MemorySettings
from core.profile import BotProfile
from core.store.base import Store
from core.store.sqlite import SQLiteStore
from tests.core.harness import llm_settings
from tests.fakes.llm import FakeLLM

EPOCH = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


@dataclass
class Clock:
    now: datetime = EPOCH

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        self.now += timedelta(**kw)


def item(text: str, decision: str = "new", **kw: Any) -> dict[str, Any]:
    return {"decision": decision, "text": text, "kind": kw.pop("kind", "fact"),
            "confidence": kw.pop("confidence", 0.9), "scope": kw.pop("scope", "private"), **kw}


def memories_json(*items: dict[str, Any]) -> str:
    return json.dumps({"memories": list(items)})


@dataclass
class Brain:
    """Decides what the fake model answers. Values may be a str or a callable(body)."""

    extractions: dict[str, str | Callable[[dict[str, Any]], str]] = field(default_factory=dict)
    chat_reply: str = "ok"

    def __call__(self, body: dict[str, Any]) -> str:
        if "response_format" not in body:
            return self.chat_reply
        said = said_text(body)
        for key, answer in self.extractions.items():
            if key in said:
                return answer(body) if callable(answer) else answer
        return memories_json()


def said_text(body: dict[str, Any]) -> str:
    """The person's messages an extraction request carries (after the known memories)."""
    return str(body["messages"][1]["content"]).split("<messages>", 1)[-1]


def is_extraction(body: dict[str, Any]) -> bool:
    return "response_format" in body


def chat_prompts(fake: FakeLLM) -> list[str]:
    """Every chat (non-extraction) prompt received, flattened to one string each."""
    return ["\n".join(m["content"] for m in body["messages"])
            for body in fake.chat_requests if not is_extraction(body)]


@dataclass
class MemoryCore:
    store: Any  # SQLiteStore unless the test passed another backend
    agent: Agent
    model: OpenAIChatModel
    clock: Clock

    async def say(self, inbound: Inbound) -> str:
        reply = self.agent.turn(inbound)
        text = await reply.drain()
        await self.agent.wait_background()
        return text


@asynccontextmanager
async def memory_core(path: Path, url: str, *, embed: bool = False, learn: bool = True,
                      settings: MemorySettings | None = None,
                      reranker: Reranker | None = None,
                      store: Store | None = None) -> AsyncIterator[MemoryCore]:
    """``store`` (unopened; SQLite at ``path`` when None) is opened and closed here."""
    store = store if store is not None else SQLiteStore(path)
    await store.open()
    extra = {"embed_model": "embed-test"} if embed else {}
    model = OpenAIChatModel(llm_settings([url], **extra))
    clock = Clock()
    agent = assembly.agent(
        store, model, {"kith": BotProfile("kith", "You are Kith.")}, clock=clock,
        memory=settings or MemorySettings(embed=embed, learn=learn, every_turns=1),
        reranker=reranker)
    await agent.learner.resume()
    try:
        yield MemoryCore(store, agent, model, clock)
    finally:
        await agent.learner.close()  # as at shutdown: unfinished extraction stays queued
        await agent.wait_background()
        await model.aclose()
        await store.close()


_counter = iter(range(10**9))


def msg(channel: str, user: str, text: str, *, chat: str | None = None, group: bool = False,
        name: str = "", at: datetime = EPOCH) -> Inbound:
    n = next(_counter)
    chat_id = chat or f"dm-{user}"
    return Inbound(
        id=f"{channel}:kith:{chat_id}:{n}",
        conversation=ConversationKey("kith", channel, chat_id),
        sender=Sender(user, name or user),
        text=text, received_at=at,
        addressed=Addressed.MENTION if group else Addressed.DIRECT,
        trust=Trust.OWNER, chat=ChatKind.GROUP if group else ChatKind.DIRECT,
    )
