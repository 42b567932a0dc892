"""A graceful shutdown loses no polled update: input stops before the dispatcher closes, and
an update is acknowledged (the offset moved past it) only once it is recorded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bots.runtime import Kith
from tests.adapters.telegram.rig import OWNER, bot_toml, fixture
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import TOKEN, FakeBotAPI, running_fake_bot_api
from tests.support import fleet_for, make_settings, running_gateway, write_bot


def said(llm: FakeLLM, text: str) -> bool:
    """The model was asked to answer ``text`` (in a turn's last user message)."""
    return any(text in str(r["messages"][-1].get("content"))
               for r in llm.chat_requests if r.get("stream"))


async def test_an_update_during_shutdown_is_recorded_or_redelivered(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("TG_TEST_SECRET", "unused-secret-0123456789")
    llm, llm_url = fake_llm
    llm.ttft = 4.0  # the first turn is still running when SIGTERM comes
    api = FakeBotAPI()
    async with running_fake_bot_api(api) as base_url:
        write_bot(tmp_path / "bots", "kith", bot_toml(base_url, "polling", ""))
        settings = make_settings(tmp_path, llm_url)
        first = fixture("private_text")
        first["message"]["text"] = "first message, answered slowly"
        late = fixture("private_text")
        late["update_id"], late["message"]["message_id"] = 30_001, 77
        late["message"]["text"] = "the message that came during shutdown"

        kith = Kith(settings, fleet_for(settings))
        await kith.start()
        await api.push(first)
        await api.wait_for(lambda _: said(llm, "answered slowly"))
        stopping = asyncio.create_task(kith.stop())  # what SIGTERM does
        await asyncio.sleep(1.5)
        await api.push(late)
        await stopping

        # The next start finds it: recorded (and resumed), or still unacknowledged.
        llm.ttft = 0.0
        again = Kith(settings, fleet_for(settings))
        await again.start()
        try:
            await api.wait_for(lambda _: said(llm, "came during shutdown"), within=30)
            await again.dispatcher.join()
        finally:
            await again.stop()
        assert len(api.chat_texts(OWNER)) == 2


async def test_webhooks_answer_503_once_shutdown_has_begun(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    secret = "webhook-secret-0123456789"
    monkeypatch.setenv("TG_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("TG_TEST_SECRET", secret)
    llm, llm_url = fake_llm
    llm.ttft = 4.0
    api = FakeBotAPI()
    async with running_fake_bot_api(api) as base_url:
        write_bot(tmp_path / "bots", "kith", bot_toml(base_url, "webhook", ""))
        settings = make_settings(tmp_path, llm_url)
        kith = Kith(settings, fleet_for(settings))
        await kith.start()
        async with running_gateway(kith) as gateway:
            api.webhook_target = gateway
            first = fixture("private_text")
            assert await api.push(first) == 200
            await api.wait_for(lambda _: said(llm, "Hello Kith"))
            stopping = asyncio.create_task(kith.stop())
            await asyncio.sleep(0.5)
            late = fixture("private_text")
            late["update_id"], late["message"]["message_id"] = 30_002, 78
            assert await api.push(late) == 503  # Telegram keeps it and sends it again
            await stopping
        assert len(api.chat_texts(OWNER)) == 1  # the running turn was still answered
