"""A real core (SQLite store, agent, dispatcher, OpenAI client) around a fake LLM."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bots import assembly
from core.agent import Agent
from core.dispatch import Dispatcher
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Outbound, Sender, Trust
from core.llm import OpenAIChatModel
from core.profile import BotProfile
from core.reply import DeliveryError, Reply
from core.settings import DeliverySettings, LLMSettings, PromptSettings
from core.store.sqlite import SQLiteStore


@dataclass
class Delivered:
    inbound: Inbound
    text: str
    status: str


@dataclass
class Recorder:
    """A Channel that records complete replies in delivery order. ``refuse`` fails that
    many deliveries first (the platform did not accept them)."""

    replies: list[Delivered] = field(default_factory=list)
    arrived: asyncio.Event = field(default_factory=asyncio.Event)
    refuse: int = 0
    attempts: int = 0

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        text = "".join([piece async for piece in reply])
        self.attempts += 1
        if self.refuse > 0:
            self.refuse -= 1
            raise DeliveryError("the platform said no")
        self.replies.append(Delivered(inbound, text, reply.status.value))
        self.arrived.set()
        return reply.outbound((f"p{len(self.replies)}",))

    def texts(self, chat_id: str | None = None) -> list[str]:
        return [d.text for d in self.replies
                if chat_id is None or d.inbound.conversation.chat_id == chat_id]


@dataclass
class Core:
    store: SQLiteStore
    model: OpenAIChatModel
    agent: Agent
    dispatcher: Dispatcher
    channel: Recorder


def llm_settings(urls: list[str], **kw: Any) -> LLMSettings:
    base: dict[str, Any] = dict(base_urls=urls, model="llama-test", timeout=5.0,
                                connect_timeout=1.0, max_attempts=3, backoff_max=0.2)
    base.update(kw)
    return LLMSettings(**base)


@asynccontextmanager
async def running_core(path: Path, urls: list[str], concurrency: int = 16,
                       prompt: PromptSettings | None = None,
                       delivery: DeliverySettings | None = None, reply_tokens: int = 1024,
                       **llm: Any) -> AsyncIterator[Core]:
    store = SQLiteStore(path)
    await store.open()
    model = OpenAIChatModel(llm_settings(urls, **llm))
    delivery = delivery or DeliverySettings(retry_min=0.05, retry_max=0.2)
    agent = assembly.agent(store, model, {"kith": BotProfile("kith", "You are Kith.")},
                           prompt=prompt, reply_tokens=reply_tokens, hold_for=delivery.hold_for)
    dispatcher = Dispatcher(store, agent, concurrency, delivery)
    channel = Recorder()
    dispatcher.register("kith", "test", channel)
    try:
        yield Core(store, model, agent, dispatcher, channel)
    finally:
        await dispatcher.close(grace=2)
        await agent.wait_background()
        await model.aclose()
        await store.close()


def message(chat: str, n: int, text: str | None = None, **kw: Any) -> Inbound:
    fields: dict[str, Any] = dict(
        id=f"test:kith:{chat}:{n}",
        conversation=ConversationKey("kith", "test", chat),
        sender=Sender(f"user-{chat}", "Ana"),
        text=text if text is not None else f"message {n} in {chat}",
        addressed=Addressed.DIRECT,
        trust=Trust.OWNER,
        chat=ChatKind.DIRECT,
    )
    fields.update(kw)
    return Inbound(**fields)
