"""Issue #14, test 2: three replicas on one PostgreSQL; 20 conversations send to random
replicas while a random replica is ``kill -9``ed every few seconds and restarted, at least
50 times. Every accepted message is answered exactly once, in order within its
conversation; the model's calls per message are counted.

A message is *accepted* when a replica answered its POST with a status (200, or 409 when
an earlier attempt had recorded it). A POST cut before any status is sent again, with the
same id, to another replica - what the web page does after a drop.
"""

from __future__ import annotations

import asyncio
import os
import random
import time
from pathlib import Path

import httpx
import psycopg
import pytest

from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.replicas.cluster import Cluster, Replica
from tests.support import write_bot

KILLS = int(os.environ.get("KITH_CHAOS_KILLS", "50"))
CONVERSATIONS = 20
KILL_EVERY = (0.5, 1.5)  # seconds between kills, at random (never the last one alive)
STALL_AFTER = 60.0  # seconds without a delivery while messages are open: the cluster is stuck


def _session(c: int) -> str:
    return f"chaos-conv-{c:02d}"


def _text(c: int, n: int) -> str:
    return f"conversation {c} message {n}"


async def _accept(client: httpx.AsyncClient, cluster: Cluster, c: int, n: int,
                  rng: random.Random) -> None:
    """POST until some replica gives a status; then the message is accepted."""
    body = {"session": _session(c), "id": f"msg-{c:02d}-{n:05d}", "text": _text(c, n)}
    while True:
        live = cluster.live()
        if not live:
            await asyncio.sleep(0.05)
            continue
        replica = rng.choice(live)
        try:
            async with client.stream("POST", f"{replica.url}/chat/kith/send", json=body,
                                     timeout=10) as response:
                if response.status_code in (200, 409):
                    return  # recorded; the reply is read back later from any replica
                raise AssertionError(f"unexpected {response.status_code}")
        except httpx.TransportError:
            await asyncio.sleep(0.05)  # that replica died under us: another one


async def _converse(client: httpx.AsyncClient, cluster: Cluster, c: int,
                    stop: asyncio.Event, sent: list[int], rng: random.Random) -> None:
    n = 0
    while not stop.is_set():
        await _accept(client, cluster, c, n, rng)
        n += 1
        sent[c] = n
        await asyncio.sleep(rng.uniform(0.2, 1.2))


async def _killer(cluster: Cluster, rng: random.Random) -> None:
    """Kill a random live replica every few seconds and start it again in the background
    (it takes seconds to come up on this box), never the last one alive."""
    restarts: list[asyncio.Task[None]] = []
    while cluster.kills < KILLS:
        await asyncio.sleep(rng.uniform(*KILL_EVERY))
        live = cluster.live()
        if len(live) < 2:
            continue
        victim: Replica = rng.choice(live)
        await cluster.kill(victim)
        restarts.append(asyncio.create_task(cluster.start(victim)))
    await asyncio.gather(*restarts)


async def _turns(pg_url: str, c: int) -> list[tuple[str, str]]:
    """The conversation as the database has it (every turn, in order)."""
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT role, text FROM turns WHERE conversation = %s "
                                 "ORDER BY seq", (f"kith/web/{_session(c)}",))
        return [(str(role), str(text)) for role, text in await cur.fetchall()]


async def _stuck(pg_url: str) -> str:
    """What the database says about messages not answered (for the failure message)."""
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute(
            "SELECT id, status, seq FROM inbox WHERE status NOT IN ('delivered') ORDER BY seq")
        rows = await cur.fetchall()
        cur = await conn.execute("SELECT conversation, owner, until > now() FROM turn_leases")
        leases = await cur.fetchall()
    return f"not every message was answered: not delivered {rows[:20]}; leases {leases}"


async def _delivered(pg_url: str) -> tuple[int, int]:
    async with await psycopg.AsyncConnection.connect(pg_url) as conn:
        cur = await conn.execute("SELECT count(*) FILTER (WHERE status = 'delivered'), "
                                 "count(*) FROM inbox")
        row = await cur.fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


async def _drain(pg_url: str, sent: list[int]) -> None:
    """Wait until every message is delivered. The backlog left by the kills takes as long
    as the box is slow, so what fails is a cluster that stops making progress."""
    best, since = -1, time.monotonic()
    while True:
        delivered, recorded = await _delivered(pg_url)
        if delivered == recorded == sum(sent):
            return
        if delivered > best:
            best, since = delivered, time.monotonic()
        assert time.monotonic() - since < STALL_AFTER, await _stuck(pg_url)
        await asyncio.sleep(0.5)


@pytest.mark.first  # the longest test: the others run beside it
@pytest.mark.timeout(900)
async def test_three_replicas_fifty_kills_every_message_answered_once_in_order(
        tmp_path: Path, pg_url: str) -> None:
    rng = random.Random(14)
    write_bot(tmp_path / "bots")
    llm = FakeLLM(ttft=0.05, itl=0.01)  # echoes "You said: <message>", in a few chunks
    async with running_fake_llm(llm) as llm_url:
        cluster = Cluster(tmp_path, pg_url, 3, KITH_LLM__BASE_URLS=llm_url,
                          KITH_MEMORY__LEARN="true",  # the default: learning runs too
                          KITH_LLM__TIMEOUT="30", KITH_DELIVERY__RETRY_MIN="0.2",
                          KITH_DELIVERY__RETRY_MAX="1")
        await cluster.start_all()
        sent = [0] * CONVERSATIONS
        stop = asyncio.Event()
        started = time.monotonic()
        try:
            async with httpx.AsyncClient() as client:
                talkers = [asyncio.create_task(_converse(client, cluster, c, stop, sent, rng))
                           for c in range(CONVERSATIONS)]
                await _killer(cluster, rng)
                stop.set()
                await asyncio.gather(*talkers)
                chaos = time.monotonic() - started
                await _drain(pg_url, sent)
                drain = time.monotonic() - started - chaos
                await asyncio.sleep(2.0)  # nothing more is coming (no late duplicates)
                histories = [await _turns(pg_url, c) for c in range(CONVERSATIONS)]
                # and a client reading back through a replica sees the same
                page = (await client.get(f"{cluster.live()[0].url}/chat/kith/history",
                                         params={"session": _session(0)})).json()
        finally:
            await cluster.stop_all()
    for c, turns in enumerate(histories):
        # the fake model echoes the message it was asked about (after Kith's context lines)
        got = [(role, text if role == "user" else text.rsplit("\n", 1)[-1])
               for role, text in turns]
        expected: list[tuple[str, str]] = []
        for n in range(sent[c]):
            expected += [("user", _text(c, n)), ("assistant", _text(c, n))]
        assert got == expected, f"conversation {c} differs"
    assert [(t["role"], t["text"]) for t in page] == histories[0][-len(page):]
    messages = sum(sent)
    calls = len([r for r in llm.chat_requests if r.get("stream")])  # turns stream; learning
    # (batched extraction, every 20 turns or after a quiet minute) does not
    print(f"\nchaos: {cluster.kills} kills in {chaos:.0f} s, {messages} messages answered once "
          f"in order (the backlog drained in {drain:.0f} s), {calls} model calls "
          f"({calls / messages:.3f} per message)")
    assert cluster.kills >= KILLS
    assert messages >= 10 * CONVERSATIONS
    assert calls >= messages
