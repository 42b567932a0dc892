"""The reply relay on a real PostgreSQL: a reply published by one replica reaches the
subscriber in another, in order, long pieces split below NOTIFY's limit; a dropped listening
connection marks the subscriptions ``gap`` and the relay listens again."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from adapters.web_stream import follow
from core.relay import Piece, ReplyStream
from core.store.base import Delivery, InboxStatus
from core.store.postgres.relay import MAX_PAYLOAD, PostgresRelay, decode, encode

ID = "web:kith:session-1:client-1"


@pytest.fixture
async def pair(pg_url: str) -> AsyncIterator[tuple[PostgresRelay, PostgresRelay]]:
    pools = [AsyncConnectionPool(pg_url, min_size=1, max_size=2, open=False) for _ in "ab"]
    relays = []
    for pool in pools:
        await pool.open()
        relay = PostgresRelay(pg_url, pool, reconnect=0.1)
        await relay.open()
        relays.append(relay)
    yield relays[0], relays[1]
    for relay in relays:
        await relay.close()
    for pool in pools:
        await pool.close()


async def _nothing() -> Delivery | None:
    return Delivery(InboxStatus.PENDING)


def test_payloads_round_trip_and_stay_small() -> None:
    piece = Piece("att", 7, ("\x00\"\\ü😀" * 200)[:1000], end=False)
    payload = encode(ID, piece)
    assert len(payload.encode()) <= MAX_PAYLOAD
    assert decode(payload) == (ID, piece)
    for worst in ("\x01" * 1000, "😀" * 1000, '"' * 1000):  # the longest escapes
        assert len(encode(ID, Piece("a" * 12, 10**9, worst)).encode()) <= MAX_PAYLOAD
    assert decode("not json") is None and decode('{"i": 1}') is None


async def test_a_reply_published_on_b_streams_on_a(pair: tuple[PostgresRelay, PostgresRelay],
                                                   ) -> None:
    a, b = pair
    text = "".join(f"word{i} " for i in range(3000)) + "😀" * 3000  # > 8000 bytes
    async with a.subscribe(ID) as sub:
        async def deliver() -> None:
            stream = ReplyStream(b, ID)
            for i in range(0, len(text), 1777):
                await stream.send(text[i:i + 1777])
            await stream.end()

        task = asyncio.create_task(deliver())
        got = [p async for p in follow(sub, _nothing, quiet=5.0)]
        await task
    assert "".join(got) == text
    assert not sub.gap


async def test_a_local_subscriber_never_touches_the_database(
        pair: tuple[PostgresRelay, PostgresRelay], pg_url: str) -> None:
    a, _ = pair
    seen: list[str] = []
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as spy:
        await spy.execute("LISTEN kith_reply")
        async with a.subscribe(ID) as sub:
            stream = ReplyStream(a, ID)
            await stream.send("hi")
            await stream.end()
            got = [p async for p in follow(sub, _nothing, quiet=5.0)]
        async for note in spy.notifies(timeout=0.3):
            seen.append(note.payload)
    assert got == ["hi"] and seen == []


async def test_pieces_for_nobody_are_dropped(pair: tuple[PostgresRelay, PostgresRelay]) -> None:
    a, b = pair
    await ReplyStream(b, "web:kith:other:1").send("not yours")
    async with a.subscribe(ID) as sub:
        assert await sub.next(0.3) is None


async def test_a_lost_listener_marks_a_gap_and_listens_again(
        pair: tuple[PostgresRelay, PostgresRelay], pg_url: str) -> None:
    a, b = pair
    async with a.subscribe(ID) as sub:
        async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
            cur = await conn.execute(
                "SELECT pid FROM pg_stat_activity WHERE query = 'LISTEN kith_reply'"
                " AND datname = current_database()")
            pids = [int(r[0]) for r in await cur.fetchall()]
            assert len(pids) == 2
            for pid in pids:
                await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
        for _ in range(100):
            if sub.gap and a.listening:
                break
            await asyncio.sleep(0.05)
        assert sub.gap and a.listening
        stream = ReplyStream(b, ID)  # after the reconnect, pieces flow again
        for _ in range(100):
            if b.listening:
                break
            await asyncio.sleep(0.05)
        await stream.send("again")
        piece = await sub.next(5.0)
        assert piece is not None and piece.text == "again"
