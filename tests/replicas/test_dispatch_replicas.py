"""Two dispatchers on one PostgreSQL (two replicas, in one test process): a message accepted
by either is answered once, by the replica that may deliver on its channel, and a replica
that lost its lease while a turn ran does not commit or deliver that turn."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psycopg

from bots import assembly
from core.dispatch import Dispatcher
from core.llm import OpenAIChatModel
from core.profile import BotProfile
from core.settings import DeliverySettings
from core.store.postgres.leases import PRESENCE, PostgresLeases
from core.store.postgres.store import PostgresStore
from tests.core.harness import Delivered, Recorder, llm_settings, message
from tests.fakes.llm import FakeLLM


@dataclass
class LeaderOnlyRecorder(Recorder):
    """A channel that delivers only where it leads (as Matrix does across replicas)."""

    leading: bool = False

    def delivers_here(self) -> bool:
        return self.leading


@dataclass
class Replica:
    dispatcher: Dispatcher
    channel: LeaderOnlyRecorder
    leases: PostgresLeases


@asynccontextmanager
async def replica(pg_url: str, llm_url: str, leading: bool,
                  delivered: list[Delivered] | None = None) -> AsyncIterator[Replica]:
    store = PostgresStore(pg_url)
    await store.open()
    leases = PostgresLeases(pg_url, pool_size=2)
    await leases.open()
    model = OpenAIChatModel(llm_settings([llm_url]))
    agent = assembly.agent(store, model, {"kith": BotProfile("kith", "You are Kith.")})
    dispatcher = Dispatcher(store, agent, 8, DeliverySettings(retry_min=0.05, retry_max=0.2),
                            leases=leases, sweep_every=0.2)
    channel = LeaderOnlyRecorder(leading=leading)
    if delivered is not None:
        channel.replies = delivered  # one list for both replicas: the order of delivery
    dispatcher.register("kith", "test", channel)
    await dispatcher.resume()
    dispatcher.run()
    try:
        yield Replica(dispatcher, channel, leases)
    finally:
        await dispatcher.close(grace=2)
        await agent.wait_background()
        await model.aclose()
        await leases.close()
        await store.close()


async def _until(condition: object, within: float = 10.0) -> None:
    for _ in range(int(within / 0.05)):
        if callable(condition) and condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("timed out")


async def test_a_leader_only_channel_is_answered_by_its_leader(
        pg_url: str, fake_llm: tuple[FakeLLM, str]) -> None:
    llm, url = fake_llm
    async with replica(pg_url, url, leading=True) as a, \
            replica(pg_url, url, leading=False) as b:
        for n in range(3):  # accepted by the replica that does not lead the channel
            assert await b.dispatcher.submit(message("room", n))
        await _until(lambda: len(a.channel.replies) == 3)
        await asyncio.sleep(0.5)  # nothing more is coming
        assert [r.inbound.id for r in a.channel.replies] == [
            f"test:kith:room:{n}" for n in range(3)]
        assert b.channel.attempts == 0  # it never tried to deliver where it cannot
        assert len([r for r in llm.chat_requests if r.get("stream")]) == 3


async def test_a_message_accepted_by_either_replica_is_answered_once_in_order(
        pg_url: str, fake_llm: tuple[FakeLLM, str]) -> None:
    llm, url = fake_llm
    delivered: list[Delivered] = []
    async with replica(pg_url, url, True, delivered) as a, \
            replica(pg_url, url, True, delivered) as b:
        for n in range(10):  # one conversation, alternating replicas, without waiting
            assert await (a if n % 2 else b).dispatcher.submit(message("chat", n))
        await _until(lambda: len(delivered) == 10)
        await asyncio.sleep(0.5)  # nothing more is coming
        assert [d.inbound.id for d in delivered] == [f"test:kith:chat:{n}" for n in range(10)]
        assert [re.search(r"message (\d+) in chat", d.text).group(1)  # type: ignore[union-attr]
                for d in delivered] == [str(n) for n in range(10)]
        assert len([r for r in llm.chat_requests if r.get("stream")]) == 10


async def test_a_backlog_held_by_one_replica_is_shared_with_one_that_joins(
        pg_url: str, fake_llm: tuple[FakeLLM, str]) -> None:
    """A holder keeps a conversation while it has open work; a replica that starts later
    still gets its share of a standing backlog (the holder hands some off between turns)."""
    llm, url = fake_llm
    llm.ttft = 0.3
    chats = [f"c{i}" for i in range(6)]
    delivered: list[Delivered] = []
    async with replica(pg_url, url, True, delivered) as a:
        for n in range(8):
            for chat in chats:
                assert await a.dispatcher.submit(message(chat, n))
        await _until(lambda: len(delivered) >= 6)  # A runs all six conversations
        async with replica(pg_url, url, True, delivered) as b:
            await _until(lambda: len(delivered) == 48, within=30)
            await asyncio.sleep(0.5)  # nothing more is coming
    assert b.channel.attempts > 0, "the replica that joined got none of the backlog"
    assert a.channel.attempts + b.channel.attempts == 48
    for chat in chats:  # in order and once, whichever replica answered
        assert [d.inbound.id for d in delivered if d.inbound.conversation.chat_id == chat] \
            == [f"test:kith:{chat}:{n}" for n in range(8)]
    assert len([r for r in llm.chat_requests if r.get("stream")]) == 48


async def _sql(pg_url: str, query: str, *args: object) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(query, args)
        return await cur.fetchall() if cur.description else []


async def test_a_replica_that_lost_its_lease_mid_turn_neither_commits_nor_delivers(
        pg_url: str, fake_llm: tuple[FakeLLM, str]) -> None:
    """The presence connection of the replica running a turn drops (the process lives on):
    the other replica takes the conversation over and answers. When the first one's model
    call returns, its commit is refused by the fence: one reply, one pair of turns."""
    llm, url = fake_llm
    llm.ttft = 2.0  # the turn is still running when the lease changes hands
    delivered: list[Delivered] = []
    async with replica(pg_url, url, True, delivered) as a, \
            replica(pg_url, url, True, delivered) as b:
        assert await a.dispatcher.submit(message("chat", 0))
        await _until(lambda: len(llm.chat_requests) == 1)
        [(owner,)] = await _sql(pg_url, "SELECT owner FROM turn_leases")
        first, other = (a, b) if owner == a.leases.owner else (b, a)
        presence = [row[0] for row in await _sql(
            pg_url, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objsubid = 1 AND classid::bigint = %s AND objid::bigint = %s",
            PRESENCE, first.leases.owner & 0xFFFFFFFF)]
        assert len(presence) == 1
        await _sql(pg_url, "SELECT pg_terminate_backend(%s)", presence[0])
        await _until(lambda: len(delivered) == 1, within=15)
        await asyncio.sleep(2.5)  # the first replica's model call has long returned
        assert [d.inbound.id for d in delivered] == ["test:kith:chat:0"]
        assert first.channel.attempts == 0 and other.channel.attempts == 1
        assert len([r for r in llm.chat_requests if r.get("stream")]) == 2  # run twice
        turns = await _sql(pg_url, "SELECT role FROM turns WHERE inbound_id = %s ORDER BY seq",
                           "test:kith:chat:0")
        assert [t[0] for t in turns] == ["user", "assistant"]
        # the first replica is present again and works as before
        llm.ttft = 0.0
        assert await first.dispatcher.submit(message("chat", 1))
        await _until(lambda: len(delivered) == 2)
        assert [d.inbound.id for d in delivered] == ["test:kith:chat:0", "test:kith:chat:1"]
