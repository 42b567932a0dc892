"""``kill -9`` around delivery (issue 10): the real ``kith serve`` against a fake Bot API.

* killed after the model answered but before the platform accepted the reply → after the
  restart exactly one reply arrives, and the model was called once in all;
* killed mid-stream → after the restart the message already on the platform is edited to
  the full reply; no second message.
"""

from __future__ import annotations

import asyncio
import os
import secrets
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from tests.adapters.telegram.rig import OWNER, SECRET, bot_toml, fixture
from tests.e2e.procs import KITH, kith_env
from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.fakes.telegram import TOKEN, FakeBotAPI, running_fake_bot_api
from tests.support import free_port, write_bot

REPLY = "Here is the whole answer, " + " ".join(f"part{i}" for i in range(40)) + "."


@asynccontextmanager
async def serving(tmp_path: Path, llm_url: str) -> AsyncIterator[asyncio.subprocess.Process]:
    port = free_port()
    env = kith_env(tmp_path, KITH_LLM__BASE_URLS=llm_url, KITH_GATEWAY__PORT=str(port),
                   KITH_LLM__TIMEOUT="60", KITH_DELIVERY__RETRY_MIN="0.2",
                   KITH_DELIVERY__RETRY_MAX="0.5", TG_TEST_TOKEN=TOKEN,
                   TG_TEST_SECRET=SECRET,  # the bot names a public URL: pages need a token
                   KITH_GATEWAY__WEBCHAT_TOKEN=secrets.token_urlsafe(32))
    proc = await asyncio.create_subprocess_exec(
        *KITH, "serve", env=env, cwd=tmp_path, stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL)
    try:
        async with httpx.AsyncClient() as client:
            for _ in range(2400):  # 120 s: generous under load
                try:
                    if (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
            else:
                raise AssertionError("kith serve did not come up")
        yield proc
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            await asyncio.wait_for(proc.wait(), 30)


async def kill_9(proc: asyncio.subprocess.Process) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    await asyncio.wait_for(proc.wait(), 10)


def turns(llm: FakeLLM) -> list[object]:
    return [r for r in llm.chat_requests if r.get("stream")]


async def test_kill_9_after_the_answer_before_the_platform_took_it(tmp_path: Path) -> None:
    llm, api = FakeLLM(reply=REPLY), FakeBotAPI()
    async with running_fake_llm(llm) as llm_url, running_fake_bot_api(api) as base_url:
        write_bot(tmp_path / "bots", "kith", bot_toml(base_url, "polling", "max_attempts = 2"))
        api.inject("sendMessage", 502, times=10_000)  # the Bot API is down
        async with serving(tmp_path, llm_url) as proc:
            await api.push(fixture("private_text"))
            await api.wait_for(lambda a: len(a.calls_to("sendMessage")) == 0 and sum(
                1 for c in a.calls if c.method == "sendMessage") >= 4, within=30)
            assert len(turns(llm)) == 1  # answered (and stored); re-delivery is failing
            await kill_9(proc)
        api.clear_faults()  # the Bot API is back
        async with serving(tmp_path, llm_url):
            await api.wait_for(lambda a: bool(a.sent_to(OWNER)), within=30)
            await asyncio.sleep(1.0)  # nothing more is coming
    assert [s.text for s in api.sent_to(OWNER)] == [REPLY]
    assert len(turns(llm)) == 1  # one model call in all


async def test_kill_9_mid_stream_finishes_the_same_message(tmp_path: Path) -> None:
    llm, api = FakeLLM(reply=REPLY, itl=0.25), FakeBotAPI()  # ~10 s of streaming
    async with running_fake_llm(llm) as llm_url, running_fake_bot_api(api) as base_url:
        write_bot(tmp_path / "bots", "kith", bot_toml(base_url, "polling",
                                                     "edit_interval = 0.3"))
        async with serving(tmp_path, llm_url) as proc:
            await api.push(fixture("private_text"))
            await api.wait_for(lambda a: bool(a.calls_to("editMessageText")), within=30)
            await kill_9(proc)  # one partial message is on Telegram
        partial = api.sent_to(OWNER)
        assert len(partial) == 1 and partial[0].text != REPLY
        llm.itl = 0.0
        async with serving(tmp_path, llm_url):
            await api.wait_for(lambda a: a.sent_to(OWNER)[-1].text == REPLY, within=30)
            await asyncio.sleep(1.0)
    shown = api.sent_to(OWNER)
    assert len(shown) == 1 and shown[0].text == REPLY  # the same message, finished
    assert len(api.calls_to("sendMessage")) == 1
