"""Tests of the fake OpenAI-compatible server, driven by the real ``openai`` client."""

from __future__ import annotations

import asyncio
import json
import math
import os
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import openai
import pytest

from tests.fakes.llm import FakeLLM, Fault, running_fake_llm, running_fake_llm_sync

REPO_ROOT = Path(__file__).resolve().parents[2]
USER_MSG: list[Any] = [{"role": "user", "content": "ping"}]


@pytest.fixture
def fake() -> FakeLLM:
    return FakeLLM()


@pytest.fixture
async def url(fake: FakeLLM) -> AsyncIterator[str]:
    async with running_fake_llm(fake) as base_url:
        yield base_url


def client(base_url: str, timeout: float = 10.0) -> openai.AsyncOpenAI:
    return openai.AsyncOpenAI(base_url=base_url, api_key="test", max_retries=0, timeout=timeout)


async def collect(stream: openai.AsyncStream[Any]) -> tuple[str, str | None, Any]:
    text, finish, usage = "", None, None
    async for chunk in stream:
        if chunk.usage is not None:
            usage = chunk.usage
        for choice in chunk.choices:
            text += choice.delta.content or ""
            finish = choice.finish_reason or finish
    return text, finish, usage


async def test_non_stream_default_echo(fake: FakeLLM, url: str) -> None:
    resp = await client(url).chat.completions.create(
        model="llama-test", messages=[{"role": "user", "content": "hello world"}]
    )
    assert resp.object == "chat.completion"
    assert resp.choices[0].message.content == "You said: hello world"
    assert resp.choices[0].finish_reason == "stop"
    assert resp.usage is not None
    assert resp.usage.completion_tokens == 4
    assert resp.usage.total_tokens == resp.usage.prompt_tokens + 4


async def test_stream_reply_with_usage(fake: FakeLLM, url: str) -> None:
    fake.reply = "hello there friend"
    stream = await client(url).chat.completions.create(
        model="llama-test",
        messages=USER_MSG,
        stream=True,
        stream_options={"include_usage": True},
    )
    text, finish, usage = await collect(stream)
    assert text == "hello there friend"
    assert finish == "stop"
    assert usage is not None and usage.completion_tokens == 3


async def test_stream_chunks_are_words(fake: FakeLLM, url: str) -> None:
    fake.reply = "one two three"
    stream = await client(url).chat.completions.create(
        model="llama-test", messages=USER_MSG, stream=True
    )
    deltas = [c.choices[0].delta.content async for c in stream if c.choices]
    assert deltas == ["", "one ", "two ", "three", None]


async def test_reply_callable_and_max_tokens(fake: FakeLLM, url: str) -> None:
    fake.reply = lambda body: f"model {body['model']} says a b c d"
    c = client(url)
    resp = await c.chat.completions.create(model="m1", messages=USER_MSG, max_tokens=3)
    assert resp.choices[0].message.content == "model m1 says "
    assert resp.choices[0].finish_reason == "length"
    stream = await c.chat.completions.create(
        model="m1", messages=USER_MSG, max_tokens=2, stream=True
    )
    text, finish, _ = await collect(stream)
    assert (text, finish) == ("model m1 ", "length")


async def test_scripted_replies_in_order(fake: FakeLLM, url: str) -> None:
    fake.reply = "fallback"
    fake.script(["first reply", "second reply"])
    c = client(url)
    got = []
    for _ in range(3):
        r = await c.chat.completions.create(model="m", messages=USER_MSG)
        got.append(r.choices[0].message.content)
    assert got == ["first reply", "second reply", "fallback"]


async def test_request_log(fake: FakeLLM, url: str) -> None:
    msgs: list[Any] = [
        {"role": "system", "content": "be nice"},
        {"role": "user", "content": "what time is it?"},
    ]
    await client(url).chat.completions.create(model="llama-test", messages=msgs, temperature=0.2)
    await client(url).models.list()
    assert [(r.method, r.path) for r in fake.requests] == [
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
    ]
    assert fake.chat_requests[0]["messages"] == msgs
    assert fake.chat_requests[0]["temperature"] == 0.2
    assert fake.requests[0]["headers"]["authorization"] == "Bearer test"


async def test_models(fake: FakeLLM, url: str) -> None:
    fake.models = ["a-model", "b-model"]
    page = await client(url).models.list()
    assert [m.id for m in page.data] == ["a-model", "b-model"]
    assert page.data[0].owned_by == "fake"


async def test_429_has_retry_after(fake: FakeLLM, url: str) -> None:
    fake.inject(Fault.status(429, retry_after=1.5))
    with pytest.raises(openai.RateLimitError) as info:
        await client(url).chat.completions.create(model="m", messages=USER_MSG)
    headers = info.value.response.headers
    assert headers["retry-after"] == "1.5"
    assert headers["retry-after-ms"] == "1500"
    assert info.value.body is not None and info.value.code == "rate_limit_error"
    # The fault was consumed: next request succeeds.
    r = await client(url).chat.completions.create(model="m", messages=USER_MSG)
    assert r.choices[0].message.content == "You said: ping"


async def test_500_and_fail_all(fake: FakeLLM, url: str) -> None:
    fake.inject(Fault.status(500, message="boom"))
    c = client(url)
    with pytest.raises(openai.InternalServerError, match="boom"):
        await c.chat.completions.create(model="m", messages=USER_MSG)
    fake.fail_all = Fault.status(503)
    for _ in range(2):
        with pytest.raises(openai.InternalServerError):
            await c.embeddings.create(model="e", input="x")
    fake.fail_all = None
    await c.embeddings.create(model="e", input="x")


async def test_queued_fault_skips_models_endpoint(fake: FakeLLM, url: str) -> None:
    fake.inject(Fault.status(500))
    await client(url).models.list()
    with pytest.raises(openai.InternalServerError):
        await client(url).chat.completions.create(model="m", messages=USER_MSG)


async def test_unknown_path_is_openai_error(url: str) -> None:
    async with httpx.AsyncClient() as http:
        resp = await http.get(url + "/nope")
    assert resp.status_code == 404
    assert set(resp.json()["error"]) >= {"message", "type", "code"}


async def test_hang_triggers_client_timeout(fake: FakeLLM, url: str) -> None:
    fake.inject(Fault.hang())
    with pytest.raises(openai.APITimeoutError):
        await client(url, timeout=0.5).chat.completions.create(model="m", messages=USER_MSG)


async def test_hang_mid_stream_times_out(fake: FakeLLM, url: str) -> None:
    fake.reply = "a b c d e"
    fake.inject(Fault.hang(after_chunks=2))
    stream = await client(url, timeout=0.5).chat.completions.create(
        model="m", messages=USER_MSG, stream=True
    )
    seen: list[str] = []
    with pytest.raises((httpx.ReadTimeout, openai.APITimeoutError)):
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == "a b "


async def test_cut_stream_raises(fake: FakeLLM, url: str) -> None:
    fake.reply = "one two three four five six"
    fake.inject(Fault.cut(after_chunks=3))
    stream = await client(url).chat.completions.create(model="m", messages=USER_MSG, stream=True)
    seen: list[str] = []
    with pytest.raises((httpx.RemoteProtocolError, openai.APIConnectionError)):
        async for chunk in stream:
            seen.append(chunk.choices[0].delta.content or "")
    assert "".join(seen) == "one two three "


async def test_cut_non_stream_raises(fake: FakeLLM, url: str) -> None:
    fake.inject(Fault.cut())
    with pytest.raises(openai.APIConnectionError):
        await client(url).chat.completions.create(model="m", messages=USER_MSG)


async def test_tool_call(fake: FakeLLM, url: str) -> None:
    args = json.dumps({"city": "Oslo", "days": 3})
    fake.script_tool_call("get_weather", args)
    fake.script_tool_call("get_time", {"tz": "UTC"}, call_id="call_42")
    fake.script(["It is sunny."])
    c = client(url)
    resp = await c.chat.completions.create(model="m", messages=USER_MSG)
    choice = resp.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    assert choice.message.tool_calls is not None
    call = choice.message.tool_calls[0]
    assert call.type == "function"
    assert (call.function.name, call.function.arguments) == ("get_weather", args)

    stream = await c.chat.completions.create(model="m", messages=USER_MSG, stream=True)
    name, arguments, call_id, finish = "", "", "", None
    async for chunk in stream:
        for ch in chunk.choices:
            finish = ch.finish_reason or finish
            for tc in ch.delta.tool_calls or []:
                call_id = tc.id or call_id
                if tc.function is not None:
                    name += tc.function.name or ""
                    arguments += tc.function.arguments or ""
    assert (name, json.loads(arguments), call_id, finish) == (
        "get_time",
        {"tz": "UTC"},
        "call_42",
        "tool_calls",
    )

    final = await c.chat.completions.create(model="m", messages=USER_MSG)
    assert final.choices[0].message.content == "It is sunny."


async def test_response_format_returns_reply_text(fake: FakeLLM, url: str) -> None:
    fake.script(['{"ok": true}'])
    resp = await client(url).chat.completions.create(
        model="m", messages=USER_MSG, response_format={"type": "json_object"}
    )
    assert json.loads(resp.choices[0].message.content or "") == {"ok": True}


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True))


async def test_embeddings_deterministic(url: str) -> None:
    c = client(url)
    texts = ["the cat sat on the mat", "the cat sat on a mat", "quantum chromodynamics"]
    first = await c.embeddings.create(model="embed", input=texts)
    again = await c.embeddings.create(model="embed", input=texts[0], encoding_format="float")
    vecs = [d.embedding for d in first.data]
    assert [d.index for d in first.data] == [0, 1, 2]
    assert {len(v) for v in vecs} == {64}
    assert all(math.isclose(cosine(v, v), 1.0, rel_tol=1e-5) for v in vecs)
    assert again.data[0].embedding == pytest.approx(vecs[0], abs=1e-6)
    assert cosine(vecs[0], vecs[1]) > cosine(vecs[0], vecs[2]) + 0.3
    assert first.usage.total_tokens > 0
    sized = await c.embeddings.create(model="embed", input="hi", dimensions=16)
    assert len(sized.data[0].embedding) == 16


async def test_ttft_and_itl_respected(fake: FakeLLM, url: str) -> None:
    fake.reply = "a b c d e"
    fake.ttft, fake.itl = 0.3, 0.05
    c = client(url)
    start = time.monotonic()
    stream = await c.chat.completions.create(model="m", messages=USER_MSG, stream=True)
    first_content: float | None = None
    async for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            first_content = first_content or time.monotonic() - start
    total = time.monotonic() - start
    assert first_content is not None and first_content >= 0.25
    assert total >= 0.3 + 4 * 0.05 - 0.02
    fake.ttft = fake.itl = 0.0  # no delay: the same request completes (no upper time bound)
    text, _, _ = await collect(await c.chat.completions.create(model="m", messages=USER_MSG,
                                                              stream=True))
    assert text == "a b c d e"


async def test_stops_cleanly_with_hanging_request() -> None:
    fake = FakeLLM()
    fake.inject(Fault.hang())
    async with running_fake_llm(fake) as base_url:
        task = asyncio.create_task(
            client(base_url).chat.completions.create(model="m", messages=USER_MSG)
        )
        for _ in range(200):
            if fake.requests:
                break
            await asyncio.sleep(0.01)
        assert fake.requests
        started = time.monotonic()
    assert time.monotonic() - started < 3.0
    with pytest.raises(openai.APIConnectionError):
        await asyncio.wait_for(task, 5)
    assert fake.base_url is None


def test_sync_context_manager() -> None:
    fake = FakeLLM(reply="sync ok")
    with running_fake_llm_sync(fake) as base_url:
        assert fake.base_url == base_url
        sync_client = openai.OpenAI(base_url=base_url, api_key="t", max_retries=0)
        resp = sync_client.chat.completions.create(model="m", messages=USER_MSG)
        assert resp.choices[0].message.content == "sync ok"


def test_cli_ready_and_sigterm() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.llm", "--port", "0", "--reply", "cli reply"],
        cwd=REPO_ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO_ROOT)},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        assert line.startswith("READY http://127.0.0.1:")
        base_url = line.split()[1]
        resp = httpx.post(
            base_url + "/chat/completions", timeout=5, json={"model": "m", "messages": USER_MSG}
        )
        assert resp.json()["choices"][0]["message"]["content"] == "cli reply"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
