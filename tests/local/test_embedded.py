"""The embedded model for real: SmolLM2-135M through llama-cpp-python, offline.

A 135M model is for plumbing, not answers: these tests assert on streaming, stopping,
queueing and token counts, never on wording.
"""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from core.llm import ChatMessage, Delta
from core.local.catalog import LocalModel
from core.local.embedded import EmbeddedModel
from core.settings import LLMSettings

SETTINGS = LLMSettings(local_context=2048, max_reply_tokens=48, temperature=0.0,
                       local_threads=2)
ASK = [ChatMessage("system", "You are a helpful assistant."),
       ChatMessage("user", "Write a long story about a lighthouse keeper.")]


@pytest.fixture(scope="module")
def model(smollm2: Path) -> Iterator[EmbeddedModel]:
    embedded = EmbeddedModel(LocalModel("smollm2", smollm2, None), SETTINGS,
                             show_progress=False, seed=13)
    embedded.start().result(timeout=60)
    yield embedded
    embedded.close()


async def collect(model: EmbeddedModel, max_tokens: int | None = None,
                  messages: list[ChatMessage] = ASK, **kw: object) -> list[Delta]:
    return [d async for d in model.stream(messages, route_key="t", max_tokens=max_tokens,
                                          **kw)]  # type: ignore[arg-type]


async def test_streams_tokens_and_counts_them(model: EmbeddedModel) -> None:
    deltas = await collect(model, max_tokens=12)
    texts, last = deltas[:-1], deltas[-1]
    assert len(texts) >= 6 and all(d.text for d in texts)  # streamed, piece by piece
    assert last.text == "" and last.finish_reason == "length"
    assert last.usage is not None and last.usage.completion_tokens == 12
    assert last.endpoint == "embedded:smollm2"
    # the same count llama-cpp-python reports when called directly
    direct = model._llama.create_chat_completion(  # the very Llama object, not a copy
        messages=[m.wire() for m in ASK], max_tokens=12, temperature=0.0, seed=13)
    assert direct["usage"]["prompt_tokens"] == last.usage.prompt_tokens
    assert direct["usage"]["completion_tokens"] == 12
    assert direct["choices"][0]["message"]["content"] == "".join(d.text for d in texts)


async def test_a_reply_that_ends_by_itself_says_stop(model: EmbeddedModel) -> None:
    short = [ChatMessage("user", "Say OK.")]
    deltas = await collect(model, max_tokens=200, messages=short)
    last = deltas[-1]
    assert last.finish_reason == "stop" and last.usage is not None
    assert 0 < last.usage.completion_tokens < 200
    assert last.usage.completion_tokens >= len(deltas) - 1


async def test_a_reader_that_leaves_stops_the_generation(model: EmbeddedModel) -> None:
    before = model.sampled
    stream = model.stream(ASK, route_key="t", max_tokens=400)
    got = [await anext(stream), await anext(stream)]
    await stream.aclose()  # the person closed the page
    assert all(d.text for d in got)
    after = await collect(model, max_tokens=4)  # the worker is free again at once
    assert after[-1].usage is not None and after[-1].usage.completion_tokens == 4
    stopped = model.sampled - before - 4
    assert stopped < 20, f"the abandoned reply went on for {stopped} of 400 tokens"


async def test_requests_queue_instead_of_running_at_once(model: EmbeddedModel) -> None:
    spans: dict[int, list[float]] = {}
    queued: list[int] = []

    async def one(i: int) -> None:
        async for _ in model.stream(ASK, route_key=f"c{i}", max_tokens=10):
            spans.setdefault(i, []).append(time.monotonic())
            queued.append(model.status().queued)

    await asyncio.gather(*(one(i) for i in range(3)))
    order = sorted(spans, key=lambda i: spans[i][0])
    for earlier, later in itertools.pairwise(order):
        assert spans[later][0] >= spans[earlier][-1]  # no interleaving: one at a time
    assert max(queued) == 2 and queued[-1] == 0


async def test_status_and_probe(model: EmbeddedModel) -> None:
    status = model.status().as_dict()
    assert status["state"] == "ready" and status["model"] == "smollm2"
    probe = await model.probe()
    assert probe["embedded:smollm2"].models == ("smollm2",)


async def test_a_file_that_is_not_gguf_fails_clearly(tmp_path: Path) -> None:
    bad = tmp_path / "broken.gguf"
    bad.write_bytes(b"GGUF" + b"\0" * 64)
    embedded = EmbeddedModel(LocalModel("broken", bad, None), SETTINGS, show_progress=False)
    try:
        with pytest.raises(Exception, match=f"cannot load {bad}"):
            await collect(embedded)
        assert embedded.status().state == "failed"
    finally:
        await embedded.aclose()


async def test_a_missing_file_says_where_to_put_it(tmp_path: Path) -> None:
    gone = tmp_path / "nowhere.gguf"
    embedded = EmbeddedModel(LocalModel("nowhere", gone, None), SETTINGS, show_progress=False)
    try:
        with pytest.raises(Exception, match=r"does not exist: put nowhere\.gguf at"):
            await collect(embedded)
    finally:
        await embedded.aclose()
