"""Helpers for the Telegram tests: fixtures on disk, and a Kith served for real
(fake Bot API + fake LLM + gateway)."""

from __future__ import annotations

import copy
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from adapters.telegram.channel import TelegramChannel
from bots.runtime import Kith
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import FakeBotAPI, running_fake_bot_api
from tests.support import make_settings, running_gateway, running_kith, write_bot

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "telegram"
SECRET = "s3cret-webhook-token_0123456789"
OWNER, FRIEND, STRANGER = 1001, 1002, 1003
GROUP = -1001234567890


def fixture(name: str) -> dict[str, Any]:
    return copy.deepcopy(json.loads((FIXTURES / f"{name}.json").read_text("utf-8")))


def all_fixtures() -> dict[str, dict[str, Any]]:
    return {p.stem: fixture(p.stem) for p in sorted(FIXTURES.glob("*.json"))}


def bot_toml(base_url: str, mode: str, extra: str) -> str:
    """``[channels.telegram]`` for the tests; ``extra`` lines ("key = value") override."""
    table = {
        "token_env": '"TG_TEST_TOKEN"', "mode": f'"{mode}"', "api_base_url": f'"{base_url}"',
        "webhook_secret_env": '"TG_TEST_SECRET"', "public_url": '"https://kith.example"',
        "owners": f"[{OWNER}]", "allowed_users": f"[{FRIEND}]", "allowed_groups": f"[{GROUP}]",
        "edit_interval": "0.05", "group_edit_interval": "0.05", "poll_timeout": "1",
    }
    for line in extra.strip().splitlines():
        key, _, value = line.partition("=")
        table[key.strip()] = value.strip()
    return "[channels.telegram]\n" + "".join(f"{k} = {v}\n" for k, v in table.items())


@dataclass
class TelegramRig:
    kith: Kith
    gateway: str
    bot_api: FakeBotAPI
    llm: FakeLLM

    @property
    def channel(self) -> TelegramChannel:
        channel = self.kith.channels[("kith", "telegram")]
        assert isinstance(channel, TelegramChannel)
        return channel

    async def send(self, update: dict[str, Any]) -> None:
        """Push an update the way Telegram would, then wait until Kith has answered it."""
        status = await self.bot_api.push(update)
        assert status in (None, 200)
        if status is None:  # polling: wait until the poller has picked it up
            uid = update["update_id"]
            await self.bot_api.wait_for(lambda api: any(
                c.method == "getUpdates" and int(c.params.get("offset") or 0) > uid
                for c in api.calls))
        await self.kith.dispatcher.join()


RigFactory = Callable[..., AbstractAsyncContextManager[TelegramRig]]


def turns(rig: TelegramRig) -> list[Any]:
    """The model requests that answer a person (not background memory/summary calls)."""
    return [r for r in rig.llm.chat_requests if r.get("stream") and "response_format" not in r]


def make_rig(tmp_path: Path, llm: FakeLLM, llm_url: str) -> RigFactory:
    @asynccontextmanager
    async def rig(mode: str = "webhook", extra: str = "",
                  **overrides: Any) -> AsyncIterator[TelegramRig]:
        bot_api = FakeBotAPI()
        async with running_fake_bot_api(bot_api) as base_url:
            write_bot(tmp_path / "bots", "kith", bot_toml(base_url, mode, extra))
            llm_extra = overrides.pop("llm", {})
            settings = make_settings(tmp_path, llm_url,
                                     llm={"max_reply_tokens": 4096, **llm_extra},
                                     prompt={"budget_tokens": 16000}, **overrides)
            async with running_kith(settings) as kith, running_gateway(kith) as gateway:
                bot_api.webhook_target = gateway
                yield TelegramRig(kith, gateway, bot_api, llm)

    return rig
