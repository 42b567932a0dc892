"""Leader election on a real PostgreSQL: one leader per name; a killed leader's place is
taken within the takeover time and the old leader sees ``lost``; leaving the context frees it."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator

import psycopg
import pytest

from core.coordination import Lead
from core.store.postgres.leader import PostgresLeadership, leader_key

TAKEOVER = 0.2


class Contender:
    """Leads ``name`` in the background; records when it led and when it lost."""

    def __init__(self, leadership: PostgresLeadership, name: str) -> None:
        self.leadership, self.name = leadership, name
        self.leading = asyncio.Event()
        self.lead: Lead | None = None
        self.led_at = 0.0
        self.quit = asyncio.Event()
        self.task = asyncio.create_task(self._run())

    async def _run(self) -> None:
        async with self.leadership.lead(self.name) as lead:
            self.lead, self.led_at = lead, time.monotonic()
            self.leading.set()
            quit_ = asyncio.create_task(self.quit.wait())
            lost = asyncio.create_task(lead.lost.wait())
            await asyncio.wait({quit_, lost}, return_when=asyncio.FIRST_COMPLETED)
            quit_.cancel()
            lost.cancel()

    async def stop(self) -> None:
        self.quit.set()
        self.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self.task


@contextlib.asynccontextmanager
async def contenders(url: str, name: str, n: int = 2) -> AsyncIterator[list[Contender]]:
    group = [Contender(PostgresLeadership(url, takeover=TAKEOVER, check_every=0.2), name)
             for _ in range(n)]
    try:
        yield group
    finally:
        for c in group:
            await c.stop()


async def _first(group: list[Contender], within: float = 10.0) -> Contender:
    waits = {asyncio.create_task(c.leading.wait()): c for c in group}
    done, pending = await asyncio.wait(waits, timeout=within,
                                       return_when=asyncio.FIRST_COMPLETED)
    for task in pending:
        task.cancel()
    assert done, "nobody became leader"
    return waits[done.pop()]


async def _holder_pid(url: str, name: str) -> int:
    key = leader_key(name)
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
            " AND objsubid = 1 AND ((classid::bigint << 32) | objid::bigint) = %s",
            (key,))
        rows = await cur.fetchall()
    assert len(rows) == 1, rows
    return int(rows[0][0])


async def _terminate(url: str, pid: int) -> None:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


def test_the_key_is_stable_and_distinct() -> None:
    assert leader_key("telegram/a") == leader_key("telegram/a")
    assert leader_key("telegram/a") != leader_key("telegram/b")
    assert leader_key("telegram/a") != leader_key("matrix/a")
    assert -2**63 <= leader_key("x") < 2**63


async def test_one_of_two_leads(pg_url: str) -> None:
    async with contenders(pg_url, "telegram/bot") as group:
        leader = await _first(group)
        await asyncio.sleep(TAKEOVER * 5)  # several retries of the other one
        assert [c.leading.is_set() for c in group].count(True) == 1
        assert leader.lead is not None and not leader.lead.lost.is_set()


async def test_names_are_independent(pg_url: str) -> None:
    a, b = PostgresLeadership(pg_url), PostgresLeadership(pg_url)
    async with a.lead("telegram/one") as one, b.lead("telegram/two") as two:
        assert not one.lost.is_set() and not two.lost.is_set()


async def test_a_killed_leader_is_replaced_within_takeover(pg_url: str) -> None:
    async with contenders(pg_url, "telegram/bot") as group:
        leader = await _first(group)
        other = next(c for c in group if c is not leader)
        pid = await _holder_pid(pg_url, "telegram/bot")
        killed = time.monotonic()
        await _terminate(pg_url, pid)  # what kill -9 of the leader's replica does
        await asyncio.wait_for(other.leading.wait(), 5)
        took = other.led_at - killed
        assert took < TAKEOVER + 2.5, took  # a retry or a few, not a lock timeout
        assert leader.lead is not None
        await asyncio.wait_for(leader.lead.lost.wait(), 5)  # the old leader knows at once
        assert other.lead is not None and not other.lead.lost.is_set()


async def test_the_leader_sees_lost_at_once(pg_url: str) -> None:
    leadership = PostgresLeadership(pg_url, check_every=30.0)  # no periodic check: the socket
    async with leadership.lead("matrix/bot") as lead:
        pid = await _holder_pid(pg_url, "matrix/bot")
        t0 = time.monotonic()
        await _terminate(pg_url, pid)
        await asyncio.wait_for(lead.lost.wait(), 5)
        assert time.monotonic() - t0 < 1.0


async def test_leaving_the_context_hands_over(pg_url: str) -> None:
    async with contenders(pg_url, "imap/bot") as group:
        leader = await _first(group)
        other = next(c for c in group if c is not leader)
        t0 = time.monotonic()
        await leader.stop()
        await asyncio.wait_for(other.leading.wait(), 5)
        assert other.led_at - t0 < TAKEOVER + 0.5
        assert leader.lead is not None and not leader.lead.lost.is_set()  # released, not lost


async def test_waiting_survives_a_lost_waiting_connection(pg_url: str) -> None:
    """A waiter whose own connection is cut reconnects and still takes over later."""
    async with contenders(pg_url, "telegram/bot") as group:
        leader = await _first(group)
        other = next(c for c in group if c is not leader)
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            holder = await _holder_pid(pg_url, "telegram/bot")
            cur = await conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE application_name = 'kith-leader'"
                " AND pid <> %s AND datname = current_database()", (holder,))
            waiting = [int(r[0]) for r in await cur.fetchall()]
        assert waiting
        for pid in waiting:
            await _terminate(pg_url, pid)
        await asyncio.sleep(TAKEOVER * 3)
        assert not other.leading.is_set()
        await leader.stop()
        await asyncio.wait_for(other.leading.wait(), 5)


@pytest.mark.parametrize("n", [3])
async def test_many_contenders_one_leader_at_a_time(pg_url: str, n: int) -> None:
    async with contenders(pg_url, "telegram/bot", n) as group:
        seen: list[Contender] = []
        for _ in range(n):
            live = [c for c in group if c not in seen]
            leader = await _first(live)
            assert sum(c.leading.is_set() and not c.task.done() for c in group) == 1
            seen.append(leader)
            await _terminate(pg_url, await _holder_pid(pg_url, "telegram/bot"))
            assert leader.lead is not None
            await asyncio.wait_for(leader.lead.lost.wait(), 5)
