"""Delivery state: pending → answered → delivered (or undeliverable), re-delivery from the
store without a new model call, holding a message while every model endpoint is down."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from prometheus_client import REGISTRY

from core.agent import UNREACHABLE
from core.events import Inbound, Outbound
from core.reply import Reply
from core.settings import DeliverySettings
from core.store.base import InboxStatus
from tests.core.harness import message, running_core
from tests.fakes.llm import FakeLLM, Fault, running_fake_llm

FAST = DeliverySettings(retry_min=0.05, retry_max=0.2)


def undeliverable_count() -> float:
    return REGISTRY.get_sample_value("kith_undeliverable_total", {"channel": "test"}) or 0.0


async def test_a_refused_reply_is_delivered_again_from_the_store_without_the_model(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    async with running_core(tmp_path / "k.db", [url], delivery=FAST) as core:
        core.channel.refuse = 3
        inbound = message("a", 1)
        await core.dispatcher.submit(inbound)
        await core.dispatcher.join()
        state = await core.store.delivery(inbound.id)
    assert core.channel.attempts == 4 and core.channel.texts() == ["You said: message 1 in a"]
    assert len(fake.chat_requests) == 1  # re-delivery never asks the model again
    assert state is not None and state.status is InboxStatus.DELIVERED
    assert state.reply == "You said: message 1 in a" and state.platform_ids == ("p1",)


async def test_a_reply_refused_past_the_horizon_is_undeliverable_and_counted(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    before = undeliverable_count()
    delivery = DeliverySettings(give_up_after=0.5, retry_min=0.05, retry_max=0.1)
    async with running_core(tmp_path / "k.db", [url], delivery=delivery) as core:
        core.channel.refuse = 10_000
        inbound = message("a", 1)
        await core.dispatcher.submit(inbound)
        await core.dispatcher.join()
        await core.dispatcher.submit(message("a", 2))  # the conversation goes on
        core.channel.refuse = 0
        await core.dispatcher.join()
        status = await core.store.inbox_status(inbound.id)
    assert status is InboxStatus.UNDELIVERABLE
    assert undeliverable_count() == before + 1
    assert core.channel.texts() == ["You said: message 2 in a"]
    assert len(fake.chat_requests) == 2


async def test_an_answered_but_undelivered_reply_resumes_without_the_model(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    async with running_core(tmp_path / "k.db", [url], delivery=FAST) as core:
        core.channel.refuse = 10_000  # the platform is down when the model answers
        inbound = message("a", 1)
        await core.dispatcher.submit(inbound)
        while (await core.store.inbox_status(inbound.id)) is not InboxStatus.ANSWERED:
            await asyncio.sleep(0.01)
    assert core.channel.texts() == []  # then the process stopped
    async with running_core(tmp_path / "k.db", [url], delivery=FAST) as core:
        assert await core.dispatcher.resume() == 1
        await core.dispatcher.join()
        status = await core.store.inbox_status(inbound.id)
    assert core.channel.texts() == ["You said: message 1 in a"]
    assert len(fake.chat_requests) == 1 and status is InboxStatus.DELIVERED


async def test_every_endpoint_down_then_one_back_answers_once_and_said_it_would(
    tmp_path: Path,
) -> None:
    a, b = FakeLLM(reply="from A"), FakeLLM(reply="from B")
    a.fail_all = b.fail_all = Fault.status(503)
    async with running_fake_llm(a) as url_a, running_fake_llm(b) as url_b, \
            running_core(tmp_path / "k.db", [url_a, url_b], delivery=FAST, max_attempts=2,
                         down_cooldown=0.05) as core:
        inbound = message("a", 1, text="remember the milk")
        await core.dispatcher.submit(inbound)
        while await core.store.inbox_status(inbound.id) is not InboxStatus.HELD:
            await asyncio.sleep(0.01)
        notice = core.channel.texts()
        await asyncio.sleep(0.3)  # a few more tries while both are down: nothing sent
        assert core.channel.texts() == notice
        b.fail_all = None
        await core.dispatcher.join()
        status = await core.store.inbox_status(inbound.id)
        history = await core.store.history(inbound.conversation, 0, 10)
    assert notice == [UNREACHABLE.format(horizon="an hour")]
    assert "answer it once the model is back" in notice[0] and "an hour" in notice[0]
    assert core.channel.texts() == [*notice, "from B"]  # answered once
    assert status is InboxStatus.DELIVERED
    assert [t.text for t in history] == ["remember the milk", "from B"]  # recorded once


async def test_past_the_hold_horizon_the_person_is_told_it_was_dropped(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.fail_all = Fault.status(503)
    delivery = DeliverySettings(hold_for=0.4, retry_min=0.05, retry_max=0.1)
    async with running_core(tmp_path / "k.db", [url], delivery=delivery, max_attempts=1,
                            down_cooldown=0.01) as core:
        inbound = message("a", 1)
        await core.dispatcher.submit(inbound)
        await core.dispatcher.join()
        status = await core.store.inbox_status(inbound.id)
        fake.fail_all = None
        await asyncio.sleep(0.2)
    texts = core.channel.texts()
    assert len(texts) == 2 and "can't reach my language model" in texts[0]
    assert "so I've dropped it" in texts[1]
    assert status is InboxStatus.FAILED
    assert texts == core.channel.texts()  # never answered after all


class SlowPlatform:
    """Takes ``pace`` seconds to show each reply (like Telegram's limits)."""

    def __init__(self, pace: float) -> None:
        self.pace = pace
        self.done: list[float] = []

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        async for _ in reply:
            pass
        await asyncio.sleep(self.pace)
        self.done.append(time.monotonic())
        return reply.outbound(("x",))


async def test_a_turn_slot_is_freed_when_the_model_is_done_not_when_delivery_is(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    async with running_core(tmp_path / "k.db", [url], concurrency=1) as core:
        platform = SlowPlatform(pace=0.5)
        core.dispatcher.register("kith", "test", platform)
        started = time.monotonic()
        for chat in "abcd":
            await core.dispatcher.submit(message(chat, 1))
        await core.dispatcher.join()
    # one slot, four conversations: model calls are not queued behind 0.5 s deliveries
    assert len(fake.chat_requests) == 4 and max(platform.done) - started < 1.2
