"""What offers cost the model server: model requests per message with offers on and off.

    python -m bench.offers [--messages 200] [--every 10]

One direct chat replays ``--messages`` messages (one an hour, by the scheduler's clock)
through the real agent, dispatcher and scheduler (SQLite) against the fake LLM on loopback,
with the memory settings a user gets (batched extraction every 20 turns or after 60 s of
quiet; the tail is flushed). Every ``--every``-th message states a plan for the next day,
and the fake's extraction answer returns it as a commitment, so with offers on the
scheduler then sends offers (at most 3 a day; a plan whose time passed before its batch was
extracted — every 20 turns here, as the quiet time never elapses — is not offered).
Printed: model requests (reply, extraction, summary) per message, offers sent, and the time
the extraction step took per call including the offers' own work (keeping them and their
scheduled turns).
The goal is an unchanged request count: offers ride on the extraction's one call. Reply and
extraction calls are exact; summary calls run in the background when a conversation's
history has grown, so their count varies a little from run to run either way.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import re
import tempfile
import time
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from bench.common import machine, percentile, print_table
from bots import assembly
from core.dispatch import Dispatcher
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.llm import OpenAIChatModel
from core.memory.extract import COMMITMENT_SCHEMA
from core.memory.service import MemorySettings
from core.profile import BotProfile
from core.schedule.model import Kind
from core.schedule.scheduler import Scheduler
from core.settings import LLMSettings, MemoryConfig
from core.store.sqlite import SQLiteStore
from tests.core.harness import Recorder
from tests.fakes.llm import FakeLLM, running_fake_llm

START = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
PLAN = re.compile(r"^\[(\d+)\] \([^)]*\) (.+) on (\d{4}-\d{2}-\d{2}) at (\d{2}:\d{2})$")


def _answer(body: dict[str, Any]) -> str:
    if "response_format" not in body:
        if body["messages"][0]["content"].startswith("You maintain a running summary"):
            return "They talked about their week."
        return "Noted."
    said = str(body["messages"][1]["content"]).split("<messages>", 1)[-1]
    plans = [m for m in (PLAN.match(line.strip()) for line in said.splitlines()) if m]
    return json.dumps({"memories": [], "commitments": [
        {"what": m[2], "when": f"{m[3]}T{m[4]}", "kind": "event", "message": int(m[1])}
        for m in plans]})


def _text(n: int, every: int, now: datetime) -> str:
    if n % every == every - 1:
        return f"Dentist {n} on {(now + timedelta(days=1)).date()} at 15:00"
    return f"Message {n}: just telling you about my day, nothing planned."


async def _replay(messages: int, every: int,
                  offers: bool) -> tuple[Counter[str], int, list[float]]:
    fake = FakeLLM(reply=_answer)
    settings = replace(MemorySettings.of(MemoryConfig(), embed=False), offers=offers)
    clock = [START]
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            store = SQLiteStore(Path(tmp) / "bench.db")
            await store.open()
            model = OpenAIChatModel(LLMSettings(base_urls=[url], model="bench"))
            agent = assembly.agent(store, model, {"kith": BotProfile("kith", "You are Kith.",
                                                                     timezone="Europe/Lisbon")},
                          clock=lambda: clock[0], memory=settings)
            timed: list[float] = []
            learn = agent.memory.learn_batch

            async def measured(*args: Any) -> int:
                started = time.perf_counter()
                try:
                    return await learn(*args)
                finally:
                    timed.append((time.perf_counter() - started) * 1000)
            agent.memory.learn_batch = measured  # type: ignore[method-assign,assignment]
            dispatcher = Dispatcher(store, agent, 64)
            channel = Recorder()
            dispatcher.register("kith", "bench", channel)
            scheduler = Scheduler(store.schedule, dispatcher.submit, lambda: clock[0])
            for n in range(messages):
                clock[0] = START + timedelta(hours=n)  # a message an hour
                await dispatcher.submit(Inbound(
                    id=f"bench:{n}", conversation=ConversationKey("kith", "bench", "dm"),
                    sender=Sender("me", "Me"), text=_text(n, every, clock[0]),
                    received_at=clock[0],
                    addressed=Addressed.DIRECT, trust=Trust.OWNER, chat=ChatKind.DIRECT))
                await dispatcher.join()
                await agent.learner.idle()
                await scheduler.tick()  # offers kept by an extraction are sent at once
                await dispatcher.join()
            await agent.learner.flush()
            await scheduler.tick()
            await dispatcher.join()
            sent = sum(1 for d in channel.replies if d.inbound.scheduled is not None
                       and d.inbound.scheduled.kind == Kind.OFFER.value and d.text)
            await dispatcher.close(grace=2)
            await agent.wait_background()
            await agent.learner.close()
            await model.aclose()
            await store.close()
    kinds = Counter(_kind(b) for b in fake.chat_requests)
    return kinds, sent, timed


def _kind(body: dict[str, Any]) -> str:
    if "response_format" in body:
        return "extraction"
    if body["messages"][0]["content"].startswith("You maintain a running summary"):
        return "summary"
    return "reply"


async def run(messages: int, every: int) -> None:
    rows = []
    for offers in (False, True):
        kinds, sent, timed = await _replay(messages, every, offers)
        requests = sum(kinds.values())
        rows.append(["on" if offers else "off", messages, kinds["reply"], kinds["extraction"],
                     kinds["summary"], requests / messages, sent,
                     round(percentile(timed, 50), 2), round(percentile(timed, 95), 2)])
    print_table(f"Model requests per message, offers off vs on (one chat, {messages} "
                f"messages, a dated plan every {every}; learning on as a user gets it)",
                ["offers", "messages", "reply calls", "extraction calls", "summary calls",
                 "requests/msg", "offers sent", "extraction step p50 ms", "p95 ms"], rows)
    print(f"\nThe commitments field adds {len(json.dumps(COMMITMENT_SCHEMA))} bytes of JSON "
          "schema to each extraction request (on and off alike: one schema).")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.offers", description=__doc__)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--every", type=int, default=10)
    args = parser.parse_args()
    logging.disable(logging.INFO)
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(machine(), f"· load {os.getloadavg()[0]:.1f}")
    asyncio.run(run(args.messages, args.every))


if __name__ == "__main__":
    main()
