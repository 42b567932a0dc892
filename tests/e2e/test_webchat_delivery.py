"""Web chat delivery (issue 10): a repeated client id gets 409 without touching the first
stream; the stream always ends; a reply that completes after a dropped connection is picked
up with ``GET /chat/{bot}/reply``."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import httpx

from adapters.base import ChannelContext
from adapters.web import WebChat, WebConfig
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.profile import BotProfile
from core.reply import Reply
from core.store.sqlite import SQLiteStore
from tests.fakes.llm import FakeLLM
from tests.support import make_settings, running_gateway, running_kith, write_bot

SESSION = "session-0409"


async def test_the_same_id_twice_first_stream_completes_second_gets_409(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.itl = 0.05
    write_bot(tmp_path / "bots")
    body = {"session": SESSION, "text": "hello there", "id": "client-id-0001"}
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as base, httpx.AsyncClient(timeout=10) as client:
        async def first() -> tuple[int, str]:
            async with client.stream("POST", f"{base}/chat/kith/send", json=body) as resp:
                return resp.status_code, "".join([t async for t in resp.aiter_text()])

        streaming = asyncio.create_task(first())
        while not fake.chat_requests:
            await asyncio.sleep(0.01)
        again = await client.post(f"{base}/chat/kith/send", json=body)  # while it streams
        status, text = await asyncio.wait_for(streaming, 10)
        after = await client.post(f"{base}/chat/kith/send", json=body)  # after it ended
    assert again.status_code == 409 and after.status_code == 409
    assert (status, text) == (200, "You said: hello there")
    assert len(fake.chat_requests) == 1


async def test_a_reply_finished_after_the_connection_dropped_is_picked_up(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.ttft = 0.5
    write_bot(tmp_path / "bots")
    body = {"session": SESSION, "text": "are you there?", "id": "client-id-0002"}
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as base, httpx.AsyncClient(timeout=10) as client:
        async with client.stream("POST", f"{base}/chat/kith/send", json=body) as resp:
            assert resp.status_code == 200  # then the page reloads: the stream is dropped
        reply_url = f"{base}/chat/kith/reply"
        waited = await client.get(reply_url, params={"session": SESSION,
                                                     "id": "client-id-0002", "wait": "5"})
        missing = await client.get(reply_url, params={"session": SESSION,
                                                      "id": "never-sent-0", "wait": "0"})
        bad = await client.get(reply_url, params={"session": SESSION})
    assert waited.status_code == 200
    # answered (stored) and delivered (the stream also ended) both carry the whole reply
    assert waited.json()["text"] == "You said: are you there?"
    assert waited.json()["status"] in ("answered", "delivered")
    assert missing.status_code == 404 and bad.status_code == 400


async def crashing() -> AsyncIterator[str]:
    yield "half a "
    raise RuntimeError("the turn broke")


async def test_the_stream_ends_even_when_the_turn_raises(tmp_path: Path) -> None:
    async def submit(inbound: Inbound) -> bool:
        return True

    store = SQLiteStore(tmp_path / "k.db")
    ctx = ChannelContext(bot=BotProfile("kith", "You are Kith."), channel="web",
                         settings=make_settings(tmp_path, "http://127.0.0.1:9/v1"),
                         store=store, controls=store, submit=submit, state_dir=tmp_path)
    web = WebChat(ctx, WebConfig())
    inbound = Inbound(id="web:kith:s:1", conversation=ConversationKey("kith", "web", "s"),
                      sender=Sender("owner"), text="hi", trust=Trust.OWNER,
                      addressed=Addressed.DIRECT, chat=ChatKind.DIRECT)
    async with ctx.relay.subscribe(inbound.id) as sub:  # as POST /send leaves it for deliver
        with contextlib.suppress(RuntimeError):
            await web.deliver(inbound, Reply(inbound).attach(crashing()))
        pieces = [sub.queue.get_nowait() for _ in range(sub.queue.qsize())]
    assert [(p.text, p.end) for p in pieces] == [("half a ", False), ("", True)]  # ends it
