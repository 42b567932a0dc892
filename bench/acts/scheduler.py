"""The scheduler with 100,000 pending reminders: lateness of due ones (scheduler → dispatcher
→ agent → channel) and the CPU it uses while nothing is due."""

from __future__ import annotations

import asyncio
import random
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bench.common import ProcessMeter, percentile, print_table
from core.events import Inbound, Outbound, Sender
from core.reply import Reply
from core.schedule.model import Kind, NewSchedule
from core.schedule.scheduler import Scheduler
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM, running_fake_llm


class Timed:
    """A channel that notes when each scheduled turn's text was delivered, and how late."""

    def __init__(self) -> None:
        self.late: dict[str, float] = {}
        self.count = 0

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        text = await reply.drain()
        if inbound.scheduled is not None and text:
            self.count += 1
            self.late[inbound.id] = (datetime.now(UTC) - inbound.scheduled.due_at).total_seconds()
        return reply.outbound((inbound.id,))


async def run(pending: int, due: int, window: float, idle: float) -> None:
    fake = FakeLLM(strict=True)  # scheduled turns never call the model
    async with running_fake_llm(fake) as url:
        with tempfile.TemporaryDirectory() as tmp:
            async with tool_core(Path(tmp) / "k.db", url) as core:
                core.agent.clock = lambda: datetime.now(UTC)
                store, t0 = core.store, time.perf_counter()
                people = []
                for n in range(200):
                    origin = message(f"p{n}", 0, "", sender=Sender(f"u{n}", f"P{n}"))
                    people.append((origin, await store.person_for("test", origin.sender)))
                far = datetime.now(UTC) + timedelta(days=30)

                async def add(n: int, at: datetime) -> None:
                    origin, person = people[n % len(people)]
                    await store.schedule.add(NewSchedule(
                        person, Kind.REMINDER, origin, f"reminder {n}", "Europe/Lisbon",
                        None, at, at.replace(tzinfo=None)), datetime.now(UTC))

                db = store.db
                db.execute("BEGIN")
                for n in range(due, pending):  # not due for a month
                    await add(n, far + timedelta(seconds=n))
                db.execute("COMMIT")
                start = datetime.now(UTC) + timedelta(seconds=3)  # the due ones: from 3 s on
                db.execute("BEGIN")
                for n in range(due):
                    await add(n, start + timedelta(seconds=random.uniform(0, window)))
                db.execute("COMMIT")
                inserted = time.perf_counter() - t0
                channel = Timed()
                core.dispatcher.register("kith", "test", channel)
                scheduler = Scheduler(store.schedule, core.dispatcher.submit)
                scheduler.start()
                deadline = time.monotonic() + 3 + window + 30
                while channel.count < due and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                await asyncio.sleep(0.5)
                meter = ProcessMeter()
                meter.start()
                await asyncio.sleep(idle)
                cpu, wall = meter.stop()
                await scheduler.stop()
                lateness = list(channel.late.values())
    print_table(f"Scheduler: {pending:,} pending reminders, {due:,} due over {window:.0f} s",
                ["", "value"], [
                    ["inserted (s)", inserted],
                    ["delivered", f"{channel.count:,} of {due:,}"],
                    ["delivered once each", channel.count == len(channel.late) == due],
                    ["lateness p50 (ms)", percentile(lateness, 50) * 1000],
                    ["lateness p99 (ms)", percentile(lateness, 99) * 1000],
                    ["lateness max (ms)", max(lateness) * 1000 if lateness else float("nan")],
                    [f"CPU while idle, {idle:.0f} s (% of a core)", cpu / wall * 100],
                    ["model calls", len(fake.chat_requests)],
                ])
