from __future__ import annotations

import time
from collections.abc import AsyncIterator

import pytest

from core.llm import ChatMessage, LLMError, OpenAIChatModel, Probe, rank
from tests.core.harness import llm_settings
from tests.fakes.llm import FakeLLM, Fault, running_fake_llm
from tests.support import free_port

HELLO = [ChatMessage("user", "hello")]


@pytest.fixture
async def two() -> AsyncIterator[tuple[FakeLLM, str, FakeLLM, str]]:
    a, b = FakeLLM(reply="from A"), FakeLLM(reply="from B")
    async with running_fake_llm(a) as url_a, running_fake_llm(b) as url_b:
        yield a, url_a, b, url_b


def key_preferring(first: str, urls: list[str]) -> str:
    """A conversation key whose sticky endpoint is ``first``."""
    for n in range(1000):
        if urls[rank(urls, f"conv-{n}")[0]] == first:
            return f"conv-{n}"
    raise AssertionError("no key found")


async def reply(model: OpenAIChatModel, key: str) -> str:
    return "".join([d.text async for d in model.stream(HELLO, route_key=key)])


async def test_a_conversation_sticks_to_one_endpoint(
    two: tuple[FakeLLM, str, FakeLLM, str],
) -> None:
    a, url_a, b, url_b = two
    model = OpenAIChatModel(llm_settings([url_a, url_b]))
    key = key_preferring(url_b, [url_a, url_b])
    for _ in range(5):
        assert await reply(model, key) == "from B"
    assert len(a.chat_requests) == 0 and len(b.chat_requests) == 5
    await model.aclose()


@pytest.mark.parametrize("fault", ["refused", "500", "hang"])
async def test_failover_to_the_next_endpoint(
    two: tuple[FakeLLM, str, FakeLLM, str], fault: str
) -> None:
    a, url_a, b, url_b = two
    if fault == "refused":
        url_a = f"http://127.0.0.1:{free_port()}/v1"
    elif fault == "500":
        a.fail_all = Fault.status(500)
    else:
        a.fail_all = Fault.hang()
    urls = [url_a, url_b]
    model = OpenAIChatModel(llm_settings(urls, timeout=0.5))
    key = key_preferring(url_a, urls)
    assert await reply(model, key) == "from B"
    asked_a = len(a.chat_requests)
    assert await reply(model, key) == "from B"
    assert len(a.chat_requests) == asked_a  # A is marked down: not asked again
    assert len(b.chat_requests) == 2
    await model.aclose()


async def test_429_retry_after_is_waited_out(two: tuple[FakeLLM, str, FakeLLM, str]) -> None:
    a, url_a, _, _ = two
    a.inject(Fault.status(429, retry_after=0.6))
    model = OpenAIChatModel(llm_settings([url_a]))
    started = time.monotonic()
    assert await reply(model, "k") == "from A"
    assert time.monotonic() - started >= 0.55
    assert len(a.chat_requests) == 2  # the refused one and the retry
    await model.aclose()


async def test_every_endpoint_down_raises_a_clear_error(
    two: tuple[FakeLLM, str, FakeLLM, str],
) -> None:
    a, url_a, b, url_b = two
    a.fail_all = b.fail_all = Fault.status(503)
    model = OpenAIChatModel(llm_settings([url_a, url_b], max_attempts=3))
    with pytest.raises(LLMError, match="no language model answered"):
        await reply(model, "k")
    await model.aclose()


async def test_4xx_other_than_429_is_not_retried(two: tuple[FakeLLM, str, FakeLLM, str]) -> None:
    a, url_a, _, _ = two
    a.inject(Fault.status(400, message="bad request"))
    model = OpenAIChatModel(llm_settings([url_a]))
    with pytest.raises(LLMError):
        await reply(model, "k")
    assert len(a.chat_requests) == 1
    await model.aclose()


async def test_complete_and_embed_go_through_the_same_client(
    two: tuple[FakeLLM, str, FakeLLM, str],
) -> None:
    a, url_a, _, _ = two
    model = OpenAIChatModel(llm_settings([url_a]))
    done = await model.complete(HELLO, route_key="k", response_format={"type": "json_object"})
    assert done.text == "from A" and done.usage.completion_tokens > 0
    assert a.chat_requests[-1]["response_format"] == {"type": "json_object"}
    vectors = await model.embed(["tea with lemon", "tea with lemon", "a bicycle"])
    assert vectors[0] == vectors[1] and vectors[0] != vectors[2]
    assert (await model.probe()) == {model.endpoints[0].label: Probe(models=("llama-test",))}
    await model.aclose()


# -- issue 10, case 5: every fault on A is answered by B -------------------------------


async def test_a_429_with_retry_after_30_makes_a_busy_and_b_answers(
    two: tuple[FakeLLM, str, FakeLLM, str],
) -> None:
    a, url_a, b, url_b = two
    a.fail_all = Fault.status(429, retry_after=30)
    urls = [url_a, url_b]
    model = OpenAIChatModel(llm_settings(urls, max_retry_after=30.0))
    key = key_preferring(url_a, urls)
    started = time.monotonic()
    assert await reply(model, key) == "from B"
    assert time.monotonic() - started < 10.0  # not waited out on A (30 s)
    assert await reply(model, key) == "from B"  # A stays busy for its Retry-After
    assert len(a.chat_requests) == 1 and len(b.chat_requests) == 2
    assert model.endpoints[[e.url for e in model.endpoints].index(url_a)].down_until \
        > time.monotonic() + 25
    await model.aclose()


async def test_a_stream_cut_before_its_first_token_is_retried_on_b(
    two: tuple[FakeLLM, str, FakeLLM, str],
) -> None:
    a, url_a, b, url_b = two
    a.inject(Fault.cut(after_chunks=0))  # headers and the role chunk, then the line drops
    urls = [url_a, url_b]
    model = OpenAIChatModel(llm_settings(urls))
    assert await reply(model, key_preferring(url_a, urls)) == "from B"
    assert len(a.chat_requests) == 1 and len(b.chat_requests) == 1
    await model.aclose()


async def test_a_refused_connection_is_recognised_and_fails_over_at_once(
    two: tuple[FakeLLM, str, FakeLLM, str],
) -> None:
    _, _, _, url_b = two
    url_a = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: refused
    urls = [url_a, url_b]
    model = OpenAIChatModel(llm_settings(urls, connect_timeout=10.0))
    started = time.monotonic()
    assert await reply(model, key_preferring(url_a, urls)) == "from B"
    assert time.monotonic() - started < 5.0  # well within the connect timeout
    probe = await model.probe()
    assert probe[model.endpoints[0].label if model.endpoints[0].url == url_a
                 else model.endpoints[1].label] == Probe(error="refused")
    await model.aclose()


async def test_probe_is_concurrent_bounded_and_reports_kinds_only(
    two: tuple[FakeLLM, str, FakeLLM, str],
) -> None:
    a, url_a, b, url_b = two
    a.fail_all = Fault.hang(models=True)
    b.fail_all = Fault.status(503, message="secret upstream detail sk-123", models=True)
    c = FakeLLM()
    c.fail_all = Fault.hang(models=True)
    async with running_fake_llm(c) as url_c:
        model = OpenAIChatModel(llm_settings([url_a, url_b, url_c], connect_timeout=5.0))
        started = time.monotonic()
        found = await model.probe()
        took = time.monotonic() - started
        await model.aclose()
    # two hung endpoints probed at once: one probe timeout (2 s), not two, nor the 5 s connect
    assert took < 3.8
    assert sorted(p.error or "" for p in found.values()) == ["503", "timeout", "timeout"]
    assert not any("secret" in (p.error or "") for p in found.values())
