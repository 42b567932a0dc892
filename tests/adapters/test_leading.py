"""while_leading: the loop runs only while this process leads, stops at once when the lead is
lost, and runs again once it leads again; a loop that gives up ends it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from adapters.kit.leading import while_leading
from core.coordination import Lead, LocalLeadership


class Scripted:
    """A leadership granted when ``grant`` is set; the test sets the lead's ``lost``."""

    def __init__(self) -> None:
        self.grant = asyncio.Event()
        self.leads: list[Lead] = []
        self.released = 0

    @contextlib.asynccontextmanager
    async def lead(self, name: str) -> AsyncIterator[Lead]:
        await self.grant.wait()
        self.grant.clear()
        lead = Lead(name)
        self.leads.append(lead)
        try:
            yield lead
        finally:
            self.released += 1


async def test_runs_while_leading_and_again_after_a_loss() -> None:
    leadership, running, runs = Scripted(), asyncio.Event(), []

    async def poll() -> None:
        runs.append("start")
        running.set()
        try:
            await asyncio.Event().wait()
        finally:
            runs.append("stop")

    task = asyncio.create_task(while_leading(leadership, "telegram/kith", poll, retry=0.01))
    await asyncio.sleep(0.05)
    assert runs == []  # not the leader: nothing consumed
    leadership.grant.set()
    await asyncio.wait_for(running.wait(), 1)
    running.clear()
    leadership.leads[-1].lost.set()
    await asyncio.sleep(0.05)
    assert runs == ["start", "stop"] and leadership.released == 1  # stopped at once
    leadership.grant.set()
    await asyncio.wait_for(running.wait(), 1)
    assert runs == ["start", "stop", "start"]
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
    assert runs[-1] == "stop" and leadership.released == 2


async def test_a_loop_that_gives_up_ends_and_releases() -> None:
    leadership = Scripted()
    leadership.grant.set()

    async def poll() -> None:
        return None  # e.g. the token was rejected

    await asyncio.wait_for(while_leading(leadership, "telegram/kith", poll), 1)
    assert leadership.released == 1


async def test_a_loop_that_fails_leads_again() -> None:
    leadership, calls = Scripted(), []

    async def poll() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("boom")

    leadership.grant.set()
    task = asyncio.create_task(while_leading(leadership, "imap/kith", poll, retry=0.01))
    await asyncio.sleep(0.05)
    leadership.grant.set()
    await asyncio.wait_for(task, 1)
    assert len(calls) == 2 and leadership.released == 2


async def test_one_process_always_leads() -> None:
    ran = asyncio.Event()

    async def poll() -> None:
        ran.set()

    await asyncio.wait_for(while_leading(LocalLeadership(), "matrix/kith", poll), 1)
    assert ran.is_set()
