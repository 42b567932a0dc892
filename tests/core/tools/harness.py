"""A real core with tools (SQLite, agent, dispatcher, scheduler) around a strict fake LLM."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bots import assembly
from core.agent import Agent
from core.calendar.model import Calendars
from core.dispatch import Dispatcher
from core.events import Sender
from core.llm import OpenAIChatModel
from core.profile import BotProfile
from core.schedule.model import Kind, Schedule
from core.schedule.scheduler import Scheduler
from core.store.sqlite import SQLiteStore
from core.tools.selection import Selector
from tests.core.harness import Recorder, llm_settings

CHANNELS = ("test", "email", "web", "terminal")


class Clock:
    """An injectable clock: call it for the time; set ``now`` to move it."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


@dataclass
class ToolCore:
    store: SQLiteStore
    agent: Agent
    dispatcher: Dispatcher
    scheduler: Scheduler
    channel: Recorder
    clock: Clock

    async def person(self, platform_id: str = "user-a", channel: str = "test") -> str:
        return await self.store.person_for(channel, Sender(platform_id, "Ana"))

    async def reminders(self, platform_id: str = "user-a") -> list[Schedule]:
        return await self.store.schedule.for_person(await self.person(platform_id),
                                                    Kind.REMINDER)

    async def send(self, inbound: Any) -> str:
        before = len(self.channel.replies)
        await self.dispatcher.submit(inbound)
        await self.dispatcher.join()
        assert len(self.channel.replies) == before + 1
        return self.channel.replies[-1].text


@asynccontextmanager
async def tool_core(path: Path, url: str, now: datetime | None = None,
                    timezone: str | None = "Europe/Lisbon", calendars: Calendars | None = None,
                    calendars_of: Callable[[SQLiteStore], Calendars] | None = None,
                    toolbox: Any = None, memory: Any = None, selector: Selector | None = None,
                    **bot: Any) -> AsyncIterator[ToolCore]:
    """``toolbox``: the agent's registries by bot (default: the catalog's); ``bot``: the
    profile's fields (``tools=(...)`` names its tools); ``calendars_of``: the calendars,
    made from the opened store."""
    store = SQLiteStore(path)
    await store.open()
    if calendars_of is not None:
        calendars = calendars_of(store)
    model = OpenAIChatModel(llm_settings([url]))
    clock = Clock(now or datetime(2026, 12, 1, 10, 0, tzinfo=UTC))
    profile = BotProfile("kith", "You are Kith.", timezone=timezone, **bot)
    agent = assembly.agent(store, model, {"kith": profile}, clock=clock, calendars=calendars,
                           tools=toolbox, memory=memory, selector=selector)
    dispatcher = Dispatcher(store, agent, 64)
    channel = Recorder()
    for name in CHANNELS:
        dispatcher.register("kith", name, channel)
    scheduler = Scheduler(store.schedule, dispatcher.submit, clock)
    try:
        yield ToolCore(store, agent, dispatcher, scheduler, channel, clock)
    finally:
        await dispatcher.close(grace=2)
        await agent.wait_background()
        await model.aclose()
        await store.close()


def tool_messages(request: dict[str, Any], origin: str | None = None) -> list[str]:
    """The tool results a request carried, as the model read them (errors as "error: …");
    ``origin``: each result must be marked with it."""
    found = []
    for m in request["messages"]:
        if m["role"] != "tool":
            continue
        body = json.loads(m["content"])
        if "error" in body:
            found.append("error: " + body["error"])
        else:
            assert origin is None or body.get("origin") == origin, body
            found.append(body["result"])
    return found
