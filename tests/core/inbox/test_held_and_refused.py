"""A conversation waiting for a model tells each new message so at once; a model that
refuses Kith's credentials is a configuration error, not an outage (issue 23, item 8)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from pathlib import Path

from structlog.testing import capture_logs

from core.agent import MISCONFIGURED, UNREACHABLE
from core.events import Addressed
from core.inbox.delivery import QUEUED
from core.settings import DeliverySettings
from core.store.base import InboxStatus
from tests.core.harness import message, running_core
from tests.fakes.llm import FakeLLM, Fault

FAST = DeliverySettings(retry_min=0.05, retry_max=0.2)


async def eventually(check: Callable[[], bool], within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while not check():
        assert time.monotonic() < deadline, "not within the bound"
        await asyncio.sleep(0.02)


async def test_a_message_behind_a_held_one_is_told_at_once_and_answered_in_order(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.fail_all = Fault.status(503)
    async with running_core(tmp_path / "k.db", [url], delivery=FAST, max_attempts=1,
                            down_cooldown=0.01) as core:
        first, second = message("a", 1), message("a", 2)
        await core.dispatcher.submit(first)
        while await core.store.inbox_status(first.id) is not InboxStatus.HELD:
            await asyncio.sleep(0.01)
        await core.dispatcher.submit(second)
        # the first keeps waiting for a model; the second is told so without waiting for it
        await eventually(lambda: len(core.channel.texts()) == 2)
        assert await core.store.inbox_status(second.id) is InboxStatus.HELD
        await core.dispatcher.submit(message("a", 3, addressed=Addressed.NONE))  # not asked
        fake.fail_all = None
        await core.dispatcher.join()
        statuses = [await core.store.inbox_status(m.id) for m in (first, second)]
    shown = [text for text in core.channel.texts() if text]  # the third: nothing shown
    assert shown == [UNREACHABLE.format(horizon="an hour"), QUEUED,
                     "You said: message 1 in a", "You said: message 2 in a"]
    assert statuses == [InboxStatus.DELIVERED, InboxStatus.DELIVERED]


async def test_a_model_that_refuses_the_credentials_is_a_configuration_error_told_once(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.fail_all = Fault.status(401)
    with capture_logs() as logs:
        async with running_core(tmp_path / "k.db", [url], delivery=FAST) as core:
            sent = [message("a", 1), message("a", 2), message("b", 1)]
            for inbound in sent:
                await core.dispatcher.submit(inbound)
            await asyncio.wait_for(core.dispatcher.join(), 60)  # nothing is held
            statuses = [await core.store.inbox_status(m.id) for m in sent]
            fake.fail_all = Fault.status(403)
            await core.dispatcher.submit(message("a", 3))
            await asyncio.wait_for(core.dispatcher.join(), 60)
    assert statuses == [InboxStatus.DELIVERED] * 3
    assert core.channel.texts() == [MISCONFIGURED] * 4
    assert len(fake.chat_requests) == 4  # one try each: retrying cannot help
    told = [e for e in logs if e["event"] == "llm_credentials_refused"
            and e["log_level"] == "error"]
    assert len(told) == 1 and "KITH_LLM__API_KEY" in told[0]["fix"]
    assert not any(e["event"] == "held_for_model" for e in logs)
