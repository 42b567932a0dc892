"""The embedded model serves people before background work, and answers schemas validly.

Real SmolLM2-135M through llama-cpp-python: the assertions are about order, validity and
time to leave, never about wording.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from core import metrics
from core.llm import ChatMessage
from core.local.catalog import LocalModel
from core.local.embedded import BACKGROUND, EmbeddedModel, llama_response_format
from core.memory.extract import RESPONSE_FORMAT, SCHEMA, Batch, extraction_prompt, parse
from core.memory.model import Said
from core.settings import LLMSettings

SETTINGS = LLMSettings(local_context=2048, max_reply_tokens=48, temperature=0.0,
                       local_threads=2)
LONG = [ChatMessage("user", "Write a long story about a lighthouse keeper.")]


@pytest.fixture(scope="module")
def model(smollm2: Path) -> Iterator[EmbeddedModel]:
    embedded = EmbeddedModel(LocalModel("smollm2", smollm2, None), SETTINGS,
                             show_progress=False, seed=13)
    embedded.start().result(timeout=60)
    yield embedded
    embedded.close()


def yields() -> float:
    return metrics.LOCAL_YIELDS._value.get()


async def until(condition: object, bound: float = 120.0) -> None:
    deadline = time.monotonic() + bound
    while not condition():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not met in time"
        await asyncio.sleep(0.005)


@pytest.mark.timeout(900)  # a busy shared CPU: bounds are generous, order is the point
async def test_a_person_is_served_before_background_work_already_running(
        model: EmbeddedModel) -> None:
    done: dict[str, float] = {}

    async def learn() -> str:
        result = await model.complete(LONG, route_key="bg", max_tokens=120, background=True)
        done["background"] = time.monotonic()
        return result.text

    before = yields()
    task = asyncio.create_task(learn())
    await until(lambda: model._current is not None and model._current.rank == BACKGROUND
                and model._current.counter is not None and model._current.counter.sampled > 2)
    first: float | None = None
    async for delta in model.stream(LONG, route_key="person", max_tokens=8):
        if delta.text and first is None:
            first = time.monotonic()
    text = await task
    assert first is not None and first < done["background"]
    assert yields() == before + 1  # set aside once, then done again from the start
    assert len(text) > 60  # whole: the yielded attempt left nothing half-done behind


@pytest.mark.timeout(600)
async def test_queued_background_waits_behind_a_person(model: EmbeddedModel) -> None:
    order: list[str] = []

    async def learn() -> None:
        await model.complete(LONG, route_key="bg", max_tokens=4, background=True)
        order.append("background")

    async def person(name: str) -> None:
        async for _ in model.stream(LONG, route_key=name, max_tokens=4):
            pass
        order.append(name)

    # occupy the worker, then queue background work before a person
    first = asyncio.create_task(person("first"))
    await until(lambda: model._current is not None)
    bg = asyncio.create_task(learn())
    await until(lambda: model.status().queued == 1)
    await asyncio.gather(first, bg, person("second"))
    assert order == ["first", "second", "background"]


def test_response_format_becomes_a_llama_schema() -> None:
    assert llama_response_format(RESPONSE_FORMAT) == {"type": "json_object", "schema": SCHEMA}
    assert llama_response_format({"type": "json_object"}) == {"type": "json_object"}
    assert llama_response_format({"type": "text"}) is None
    assert llama_response_format(None) is None


@pytest.mark.timeout(900)
async def test_extraction_output_validates_on_the_real_model(model: EmbeddedModel) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    said = (Said(1, "m1", "I moved to Porto last month.", now),)
    messages = extraction_prompt(Batch("Rita", said, now, False), [])
    result = await model.complete(messages, route_key="x", max_tokens=800,
                                  response_format=RESPONSE_FORMAT)
    assert result.finish_reason == "stop", result.text[-200:]
    parse(result.text)  # raises ExtractionError when it does not validate


async def test_closing_mid_reply_stops_at_the_next_token(smollm2: Path) -> None:
    embedded = EmbeddedModel(LocalModel("smollm2", smollm2, None), SETTINGS,
                             show_progress=False)
    embedded.start().result(timeout=60)
    stream = embedded.stream(LONG, route_key="t", max_tokens=2000)
    await anext(stream)
    waiting = asyncio.create_task(embedded.complete(LONG, route_key="bg", max_tokens=9,
                                                    background=True))
    await until(lambda: embedded.status().queued == 1)
    started = time.monotonic()
    await embedded.aclose()
    assert time.monotonic() - started < 2.5
    with pytest.raises(Exception, match="closed"):
        await waiting
    await stream.aclose()
