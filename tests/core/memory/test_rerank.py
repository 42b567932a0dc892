"""Optional reranking through the inference server's /v1/rerank (the fake speaks its wire
format on loopback): the prompt follows the reranker's order, and a failing reranker
leaves the fused order and the reply intact."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from core import metrics
from core.memory.rerank import HTTPReranker, RerankError, decode
from tests.core.memory.harness import Brain, chat_prompts, item, memories_json, memory_core, msg
from tests.fakes import llm_wire
from tests.fakes.llm import FakeLLM, Fault

FACTS = ["Goes to the club for tennis with Leo", "Plays tennis on Mondays",
         "Plays chess with Leo on Mondays at the club"]
QUESTION = "Who do I play chess with at the club?"


def recalled(prompt: str) -> list[str]:
    return [f for f in re.findall(r"^- (.+?) \(telegram", prompt, re.M) if f in FACTS]


async def test_the_prompt_follows_the_rerankers_order(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"Fact": memories_json(*(item(f) for f in FACTS))})
    reranker = HTTPReranker(url, "rerank-test")
    async with memory_core(tmp_path / "k.db", url) as plain:
        await plain.say(msg("telegram", "ana", "Fact time: tennis, chess and the club"))
        await plain.say(msg("telegram", "ana", QUESTION))
    fused = recalled(chat_prompts(fake)[-1])
    async with memory_core(tmp_path / "k.db", url, reranker=reranker) as core:
        await core.say(msg("telegram", "ana", QUESTION))
    await reranker.aclose()
    [request] = fake.rerank_requests
    assert request["query"] == QUESTION and sorted(request["documents"]) == sorted(FACTS)
    want = sorted(FACTS, key=lambda f: -llm_wire.relevance(QUESTION, f))
    assert recalled(chat_prompts(fake)[-1]) == want != fused


async def test_a_failing_reranker_keeps_the_fused_order(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"Fact": memories_json(*(item(f) for f in FACTS))})
    reranker = HTTPReranker(url, "rerank-test")
    before = metrics.MEMORY_RERANK_FAILURES._value.get()
    async with memory_core(tmp_path / "k.db", url) as plain:
        await plain.say(msg("telegram", "ana", "Fact time: tennis, chess and the club"))
        await plain.say(msg("telegram", "ana", QUESTION))
    fused = recalled(chat_prompts(fake)[-1])
    async with memory_core(tmp_path / "k.db", url, reranker=reranker) as core:
        fake.inject(Fault.status(503))
        assert await core.say(msg("telegram", "ana", QUESTION)) == "ok"
    await reranker.aclose()
    assert len(fused) == 3 and recalled(chat_prompts(fake)[-1]) == fused
    assert metrics.MEMORY_RERANK_FAILURES._value.get() == before + 1


@pytest.mark.parametrize("raw", [b"", b"[]", b'{"results": [{"index": 5, "relevance_score": 1}]}',
                                 b'{"results": [{"index": 0}]}', b'{"data": []}'])
def test_a_malformed_rerank_answer_is_a_rerank_error(raw: bytes) -> None:
    with pytest.raises(RerankError):
        decode(raw, 2)


def test_scores_come_back_in_document_order() -> None:
    raw = b'{"results": [{"index": 1, "relevance_score": 0.9}, {"index": 0, ' \
          b'"relevance_score": 0.1}]}'
    assert decode(raw, 2) == [0.1, 0.9]


async def test_an_unreachable_reranker_is_a_rerank_error() -> None:
    reranker = HTTPReranker("http://127.0.0.1:9/v1", "x", timeout=1.0)
    with pytest.raises(RerankError):
        await reranker.rerank("q", ["a", "b"])
    await reranker.aclose()
