"""Turn leases on a real PostgreSQL: one holder per conversation; a dead holder's leases are
free at once; a lost presence comes back."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from core.store.postgres.leases import PostgresLeases
from core.store.postgres.migrations import migrate
from core.store.postgres.schema_coord import MIGRATIONS as COORD


@pytest.fixture
async def pool(pg_url: str) -> AsyncIterator[AsyncConnectionPool]:
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        await migrate(conn, COORD)
    p = AsyncConnectionPool(pg_url, min_size=1, max_size=4, open=False)
    await p.open()
    yield p
    await p.close()


async def _leases(pg_url: str, pool: AsyncConnectionPool, ttl: float = 30.0) -> PostgresLeases:
    leases = PostgresLeases(pg_url, ttl=ttl, pool_size=2)
    await leases.open()
    return leases


async def test_one_holder_until_released(pg_url: str, pool: AsyncConnectionPool) -> None:
    a, b = await _leases(pg_url, pool), await _leases(pg_url, pool)
    try:
        assert await a.acquire("bot/web/1")
        assert await a.acquire("bot/web/1")  # re-entrant for the holder
        assert not await b.acquire("bot/web/1")
        assert await b.acquire("bot/web/2")  # other conversations are independent
        await a.release("bot/web/1")
        assert await b.acquire("bot/web/1")
        assert not await a.acquire("bot/web/1")
    finally:
        await a.close()
        await b.close()


async def test_a_dead_holders_lease_is_free_at_once(pg_url: str,
                                                   pool: AsyncConnectionPool) -> None:
    a, b = await _leases(pg_url, pool), await _leases(pg_url, pool)
    try:
        assert await a.acquire("bot/web/1")
        assert not await b.acquire("bot/web/1")
        assert a._presence is not None
        pid = a._presence.info.backend_pid
        async with pool.connection() as conn:  # what a kill -9 of replica a does to its session
            await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(50):
            if await b.acquire("bot/web/1"):
                break
            await asyncio.sleep(0.02)
        else:
            raise AssertionError("the dead holder's lease was never freed")
    finally:
        await a.close()
        await b.close()


async def test_a_lease_nobody_renews_expires(pg_url: str, pool: AsyncConnectionPool) -> None:
    a, b = await _leases(pg_url, pool, ttl=0.3), await _leases(pg_url, pool)
    try:
        assert await a.acquire("bot/web/1")
        a._held.clear()  # a leaked lease: the holder lives but no longer renews it
        assert not await b.acquire("bot/web/1")
        await asyncio.sleep(0.5)
        assert await b.acquire("bot/web/1")
    finally:
        await a.close()
        await b.close()


async def test_a_held_lease_is_renewed(pg_url: str, pool: AsyncConnectionPool) -> None:
    a, b = await _leases(pg_url, pool, ttl=0.3), await _leases(pg_url, pool)
    try:
        assert await a.acquire("bot/web/1")
        await asyncio.sleep(0.8)  # well past the ttl: renewed every ttl / 3
        assert not await b.acquire("bot/web/1")
    finally:
        await a.close()
        await b.close()


async def test_replicas_are_counted_by_their_presence(pg_url: str,
                                                      pool: AsyncConnectionPool) -> None:
    a = await _leases(pg_url, pool)
    try:
        assert await a.replicas() == 1
        b = await _leases(pg_url, pool)
        assert await a.replicas() == 2
        await b.close()
        assert await a.replicas() == 1
    finally:
        await a.close()


async def test_a_lost_presence_is_taken_up_again(pg_url: str,
                                                 pool: AsyncConnectionPool) -> None:
    a = await _leases(pg_url, pool)
    try:
        assert a._presence is not None
        old = a._presence.info.backend_pid
        async with pool.connection() as conn:  # the server (or the network) cut it
            await conn.execute("SELECT pg_terminate_backend(%s)", (old,))
        for _ in range(100):
            await asyncio.sleep(0.05)
            if a._presence is not None and not a._presence.closed and \
                    a._presence.info.backend_pid != old:
                break
        else:
            raise AssertionError("the presence never came back")
        assert await a.replicas() == 1  # counted again: its leases are live again
    finally:
        await a.close()


async def test_take_and_let_go_read_the_open_messages_with_the_lease(pg_url: str) -> None:
    """One round trip each: the lease and the conversation's open messages (in arrival
    order); a message recorded while the lease is held is in what ``let_go`` reads."""
    from core.store.postgres.store import PostgresStore
    from tests.contract.test_store_contract import KEY, answer, inbound

    store = PostgresStore(pg_url, max_size=2)
    await store.open()
    a, b = await _leases(pg_url, store.pool), await _leases(pg_url, store.pool)
    try:
        assert await a.take(KEY) == []  # held, nothing open
        await a.release(KEY)
        first, second, third = inbound(1), inbound(2), inbound(3)
        await store.record_inbound(first)
        assert [i.id for i in await a.take(KEY) or []] == [first.id]
        assert await b.take(KEY) is None  # a holds it
        await store.record_inbound(second)  # recorded elsewhere while a holds it
        await answer(store, first)
        assert [i.id for i in await a.let_go(KEY)] == [second.id]
        assert a.holding() == 0
        await store.record_inbound(third)
        assert [i.id for i in await b.take(KEY) or []] == [second.id, third.id]
        assert await a.take(KEY) is None
        assert [i.id for i in await b.let_go(KEY)] == [second.id, third.id]
        assert await a.take(KEY) is not None  # released: free for anyone
    finally:
        await a.close()
        await b.close()
        await store.close()
