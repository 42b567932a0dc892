"""The store calls one ordinary message makes: recorded, answered by the model, delivered.

    python -m bench.store_calls

A real core (SQLite store, agent with the default tools, dispatcher) around the fake
model; the store is wrapped so that every awaited call on it (and on its memory, action
and schedule parts) is counted. The second message of a conversation is the one counted
(the first creates the person and the conversation).
"""

from __future__ import annotations

import asyncio
import tempfile
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.harness import fake_llm
from bots import assembly
from core.dispatch import Dispatcher
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Outbound, Sender, Trust
from core.llm import OpenAIChatModel
from core.profile import BotProfile
from core.reply import Reply
from core.settings import LLMSettings
from core.store.sqlite import SQLiteStore

PARTS = ("memories", "actions", "schedule", "queue")


class Counted:
    """``target`` with its coroutine methods counted in ``calls`` (parts wrapped too)."""

    def __init__(self, target: Any, calls: Counter[str], prefix: str = "") -> None:
        self._target, self._calls, self._prefix = target, calls, prefix

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._target, name)
        if name in PARTS:
            return Counted(value, self._calls, f"{self._prefix}{name}.")
        if asyncio.iscoroutinefunction(value):
            return self._count(f"{self._prefix}{name}", value)
        return value

    def _count(self, name: str, method: Callable[..., Any]) -> Callable[..., Any]:
        async def counted(*args: Any, **kwargs: Any) -> Any:
            self._calls[name] += 1
            return await method(*args, **kwargs)
        return counted


class Channel:
    def __init__(self) -> None:
        self.done = asyncio.Event()

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        async for _ in reply:
            pass
        self.done.set()
        return reply.outbound(("p1",))


def message(n: int) -> Inbound:
    return Inbound(id=f"bench:kith:c1:{n}", conversation=ConversationKey("kith", "bench", "c1"),
                   sender=Sender("user-1", "Ana"), text=f"message {n}: how are you?",
                   addressed=Addressed.DIRECT, trust=Trust.OWNER, chat=ChatKind.DIRECT)


async def count(url: str, data: Path) -> Counter[str]:
    store = SQLiteStore(data / "kith.db")
    await store.open()
    calls: Counter[str] = Counter()
    counted: Any = Counted(store, calls)
    model = OpenAIChatModel(LLMSettings(base_urls=[url], model="llama-test"))
    agent = assembly.agent(counted, model, {"kith": BotProfile("kith", "You are Kith.")})
    dispatcher = Dispatcher(counted, agent)
    try:
        for n in (1, 2):
            channel = Channel()
            dispatcher.register("kith", "bench", channel)
            if n == 2:
                calls.clear()
            await dispatcher.submit(message(n))
            await channel.done.wait()
            await dispatcher.join()
        return Counter(calls)
    finally:
        await dispatcher.close(grace=2)
        await agent.wait_background()
        await model.aclose()
        await store.close()


def main() -> None:
    with fake_llm(0, 0, "Fine, thanks.") as url, tempfile.TemporaryDirectory() as tmp:
        calls = asyncio.run(count(url, Path(tmp)))
    print(f"store calls for one ordinary message: {sum(calls.values())}")
    for name, n in sorted(calls.items()):
        print(f"  {n} × {name}")


if __name__ == "__main__":
    main()
