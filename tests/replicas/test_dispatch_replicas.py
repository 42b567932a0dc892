"""Two dispatchers on one PostgreSQL (two replicas, in one test process): a message accepted
by either is answered once, by the replica that may deliver on its channel."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from core.agent import Agent
from core.dispatch import Dispatcher
from core.llm import OpenAIChatModel
from core.profile import BotProfile
from core.settings import DeliverySettings
from core.store.postgres.leases import PostgresLeases
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


@asynccontextmanager
async def replica(pg_url: str, llm_url: str, leading: bool,
                  delivered: list[Delivered] | None = None) -> AsyncIterator[Replica]:
    store = PostgresStore(pg_url)
    await store.open()
    leases = PostgresLeases(pg_url, pool_size=2)
    await leases.open()
    model = OpenAIChatModel(llm_settings([llm_url]))
    agent = Agent(store, model, {"kith": BotProfile("kith", "You are Kith.")})
    dispatcher = Dispatcher(store, agent, 8, DeliverySettings(retry_min=0.05, retry_max=0.2),
                            leases=leases, sweep_every=0.2)
    channel = LeaderOnlyRecorder(leading=leading)
    if delivered is not None:
        channel.replies = delivered  # one list for both replicas: the order of delivery
    dispatcher.register("kith", "test", channel)
    await dispatcher.resume()
    dispatcher.run()
    try:
        yield Replica(dispatcher, channel)
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
