"""/reminders, /briefing and lists behave the same over web, terminal and Telegram."""

from __future__ import annotations

import io
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

import httpx
import pytest

from adapters.terminal import Terminal, to_inbound
from tests.adapters.telegram.rig import OWNER, SECRET, fixture, make_rig
from tests.fakes.llm import FakeLLM, strict_fake_llm
from tests.fakes.telegram import TOKEN
from tests.support import make_settings, running_gateway, running_kith, write_bot

Say = Callable[[str], Awaitable[str]]


@asynccontextmanager
async def web(tmp_path: Path, url: str) -> AsyncIterator[Say]:
    write_bot(tmp_path / "bots")
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as gateway, httpx.AsyncClient(timeout=30) as client:
        async def say(text: str) -> str:
            response = await client.post(f"{gateway}/chat/kith/send",
                                         json={"session": "acts-web-1", "text": text})
            response.raise_for_status()
            return response.text
        yield say


@asynccontextmanager
async def terminal(tmp_path: Path, url: str) -> AsyncIterator[Say]:
    write_bot(tmp_path / "bots")
    async with running_kith(make_settings(tmp_path, url), channels={"terminal"}) as kith:
        channel = kith.channels[("kith", "terminal")]
        assert isinstance(channel, Terminal)
        numbers = iter(range(1, 1000))

        async def say(text: str) -> str:
            channel.out = io.StringIO()
            await kith.dispatcher.submit(to_inbound("kith", "acts", next(numbers), text))
            await kith.dispatcher.join()
            return channel.out.getvalue().rstrip("\n")
        yield say


@asynccontextmanager
async def telegram(tmp_path: Path, url: str, fake: FakeLLM) -> AsyncIterator[Say]:
    async with make_rig(tmp_path, fake, url)() as rig:
        async def say(text: str) -> str:
            before = len(rig.bot_api.chat_texts(OWNER))
            update = fixture("private_text")
            update["update_id"] = rig.bot_api.next_update_id() + 20000
            update["message"]["message_id"] += update["update_id"]
            update["message"]["text"] = text
            if text.startswith("/"):
                update["message"]["entities"] = [
                    {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
            await rig.send(update)
            return "\n".join(rig.bot_api.chat_texts(OWNER)[before:])
        yield say


def normal(text: str) -> str:
    text = re.sub(r"\b[rb][0-9a-f]{8}\b", "ID", text)
    return re.sub(r"\w+day \d+ \w+(?: \d{4})?, \d\d:\d\d", "WHEN", text)


async def scenario(say: Say, fake: FakeLLM) -> list[str]:
    out = []
    fake.script_tool_call("list_add", {"list": "shopping", "items": ["oat milk", "eggs"]})
    fake.script(["Added."])
    out.append(await say("add oat milk and eggs to the shopping list"))
    out.append(await say("/lists"))
    fake.script_tool_call("list_done", {"list": "shopping list", "items": ["milk"]})
    fake.script(["Ticked off."])
    out.append(await say("done with the milk"))
    out.append(await say("/lists shopping"))
    fake.script_tool_call("create_reminder",
                          {"text": "pack", "when": "2030-01-04T18:00:00+00:00"})
    fake.script(["Set."])
    out.append(await say("remind me to pack on 4 January 2030 at 18:00"))
    listed = await say("/reminders")
    out.append(listed)
    found = re.search(r"\[(r[0-9a-f]{8})\]", listed)
    assert found, listed
    out.append(await say(f"/reminders cancel {found.group(1)}"))
    out.append(await say("/reminders"))
    out.append(await say("/briefing 07:30"))
    out.append(await say("/briefing"))
    out.append(await say("/briefing off"))
    return [normal(t) for t in out]


EXPECTED = [
    "Added to your shopping list: oat milk, eggs.\n\nAdded.",
    "shopping: oat milk, eggs",
    "Ticked off your shopping list: oat milk.\n\nTicked off.",
    "shopping: eggs",
    "Reminder set: pack — WHEN UTC time. (id ID; time zone from UTC, as you have no /prefs "
    "timezone) Undo: /reminders cancel ID\n\nSet.",
    "Your reminders:\n[ID] pack — WHEN UTC time\nCancel one with /reminders cancel ID",
    "Cancelled: [ID] pack — WHEN UTC time",
    "You have no reminders. Ask me, e.g. \"remind me tomorrow at 9 to call Ana\".",
    "Daily briefing at 07:30 UTC time (from UTC, as you have no /prefs timezone): today's "
    "reminders and open list items, nothing on days without any. First: WHEN UTC time.",
    "Your briefing comes daily at 07:30 UTC time; next WHEN UTC time. /briefing off stops it.",
    "Daily briefing off.",
]


@pytest.mark.parametrize("channel", ["web", "terminal", "telegram"])
async def test_same_behaviour_on_every_channel(
    tmp_path: Path, channel: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TG_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("TG_TEST_SECRET", SECRET)
    async with strict_fake_llm() as fake:
        url = fake.base_url or ""
        opened = {"web": lambda: web(tmp_path, url), "terminal": lambda: terminal(tmp_path, url),
                  "telegram": lambda: telegram(tmp_path, url, fake)}[channel]()
        async with opened as say:
            assert await scenario(say, fake) == EXPECTED
