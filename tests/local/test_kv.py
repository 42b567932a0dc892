"""The conversation's KV prefix stays warm across background work, on the real SmolLM2.

The assertions count tokens llama.cpp decoded (``evaluated``), never wording or time.
"""

from __future__ import annotations

import asyncio
import ctypes
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from core import metrics
from core.llm import ChatMessage, ToolCall
from core.local.catalog import LocalModel
from core.local.embedded import BACKGROUND, EmbeddedModel, template_messages
from core.local.kv import Prefixes, Saved, common_prefix
from core.settings import LLMSettings

SETTINGS = LLMSettings(local_context=4096, max_reply_tokens=16, temperature=0.0,
                       local_threads=1)
PERSONA = "You are Kith, a personal assistant. " + " ".join(
    f"Rule {i}: answer about topic {i} in one short sentence." for i in range(40))
EXTRACT = "You extract durable facts about a person as JSON. " + " ".join(
    f"Field {i} holds what they said about subject {i}." for i in range(40))


@pytest.fixture(scope="module")
def model(smollm2: Path) -> Iterator[EmbeddedModel]:
    embedded = EmbeddedModel(LocalModel("smollm2", smollm2, None), SETTINGS,
                             show_progress=False, seed=13, idle=0.0)
    embedded.start().result(timeout=60)
    yield embedded
    embedded.close()


def saved(tokens: tuple[int, ...], size: int = 10) -> Saved:
    return Saved(tokens, (ctypes.c_uint8 * 1)(), size)


def test_common_prefix() -> None:
    assert common_prefix([1, 2, 3], [1, 2, 4]) == 2
    assert common_prefix([1, 2], [1, 2, 3]) == 2
    assert common_prefix([], [1]) == 0
    assert common_prefix([5], [1]) == 0


def test_prefixes_keep_the_longest_match_within_budget() -> None:
    cache = Prefixes(capacity=30)
    cache.put(saved((1, 2, 3)))
    cache.put(saved((1, 2, 3, 4, 5)))  # supersedes (1, 2, 3)
    assert len(cache) == 1
    cache.put(saved((1, 2)))  # a prefix of what is kept: nothing new
    assert len(cache) == 1
    cache.put(saved((7, 8)))
    cache.put(saved((9, 9)))
    found, length = cache.best([1, 2, 3, 4, 9])
    assert found is not None and found.tokens == (1, 2, 3, 4, 5) and length == 4
    cache.put(saved((6,)))  # over budget: the least recently used goes, (7, 8)
    assert cache.best([7, 8])[0] is None
    assert cache.best([1, 2])[0] is not None
    cache.put(saved((4,), size=31))  # larger than the whole budget: not kept
    assert cache.best([4])[0] is None


@pytest.mark.timeout(900)
async def test_a_follow_up_after_background_work_reads_only_its_new_tokens(
        model: EmbeddedModel) -> None:
    llama = model._llama
    turn = [ChatMessage("system", PERSONA), ChatMessage("user", "Say hello.")]
    first = await model.complete(turn, route_key="p", max_tokens=8)
    # background work on another prompt entirely: it overwrites the KV
    await model.complete([ChatMessage("system", EXTRACT), ChatMessage("user", "I moved to Porto.")],
                         route_key="bg", max_tokens=8, background=True)
    before, restored = llama.evaluated, llama.restored
    follow = [*turn, ChatMessage("assistant", first.text), ChatMessage("user", "Thanks.")]
    second = await model.complete(follow, route_key="p", max_tokens=8)
    read = llama.evaluated - before - second.usage.completion_tokens - 1
    assert llama.restored == restored + 1
    assert second.usage.prompt_tokens > 400
    assert read < second.usage.prompt_tokens / 4, (read, second.usage.prompt_tokens)


@pytest.mark.timeout(900)
async def test_background_work_gives_way_while_reading_its_prompt(
        model: EmbeddedModel) -> None:
    long = [ChatMessage("system", EXTRACT * 3), ChatMessage("user", "Extract.")]
    before = metrics.LOCAL_YIELDS._value.get()
    done: dict[str, float] = {}

    async def learn() -> None:
        await model.complete(long, route_key="bg", max_tokens=4, background=True)
        done["background"] = time.monotonic()

    with capture_logs() as logs:
        task = asyncio.create_task(learn())
        deadline = time.monotonic() + 120
        while not (model._current is not None and model._current.rank == BACKGROUND):
            assert time.monotonic() < deadline
            await asyncio.sleep(0.001)
        reply = await model.complete([ChatMessage("user", "Hi.")], route_key="p", max_tokens=4)
        answered = time.monotonic()
        await task
    assert reply.finish_reason is not None and answered < done["background"]
    assert metrics.LOCAL_YIELDS._value.get() == before + 1
    yielded = [e for e in logs if e["event"] == "local_background_yielded"]
    assert [e["tokens"] for e in yielded] == [0]  # while its prompt was read, not sampling


@pytest.mark.timeout(600)
async def test_background_work_waits_for_a_pause_in_a_persons_calls(smollm2: Path) -> None:
    embedded = EmbeddedModel(LocalModel("smollm2", smollm2, None), SETTINGS,
                             show_progress=False, seed=13, idle=1.5)
    embedded.start().result(timeout=60)
    try:
        await embedded.complete([ChatMessage("user", "Hi.")], route_key="p", max_tokens=2)
        ended = time.monotonic()
        started: list[float] = []

        async def learn() -> None:
            stream = embedded._stream(embedded._params([ChatMessage("user", "Hello.")], 2, ()),
                                      True)
            async for _ in stream:
                started.append(time.monotonic())
                break
            await stream.aclose()

        await learn()
        assert started and started[0] - ended >= 1.5
    finally:
        await embedded.aclose()


@pytest.mark.timeout(600)
async def test_closing_fails_background_work_waiting_for_a_pause(smollm2: Path) -> None:
    embedded = EmbeddedModel(LocalModel("smollm2", smollm2, None), SETTINGS,
                             show_progress=False, seed=13, idle=300.0)
    embedded.start().result(timeout=60)
    await embedded.complete([ChatMessage("user", "Hi.")], route_key="p", max_tokens=2)
    waiting = asyncio.create_task(embedded.complete([ChatMessage("user", "Hello.")],
                                                    route_key="bg", max_tokens=2,
                                                    background=True))
    await asyncio.sleep(0.5)  # taken, found too early, put back to wait for the pause
    started = time.monotonic()
    await embedded.aclose()
    assert time.monotonic() - started < 2.5
    with pytest.raises(Exception, match="closed"):
        await waiting


def test_a_calls_arguments_reach_the_template_as_an_object() -> None:
    call = ToolCall("c1", "create_reminder", '{"text": "Pick up the kids", "time": "17:00"}')
    broken = ToolCall("c2", "list_add", '{"list": ')
    [assistant] = template_messages([ChatMessage("assistant", "", tool_calls=(call, broken))])
    first, second = (c["function"]["arguments"] for c in assistant["tool_calls"])
    assert first == {"text": "Pick up the kids", "time": "17:00"}
    assert second == '{"list": '  # not JSON: shown as the model wrote it
