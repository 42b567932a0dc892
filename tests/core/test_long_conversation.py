from __future__ import annotations

from itertools import pairwise
from pathlib import Path
from typing import Any

from core.settings import PromptSettings
from core.tokens import message_tokens
from tests.core.harness import message, running_core
from tests.fakes.llm import FakeLLM, running_fake_llm

BUDGET = 1500


def reply(request: dict[str, Any]) -> str:
    first = request["messages"][0]["content"]
    if "running summary" in first:
        return "They talked about plans, cats and the weather over many turns."
    last = request["messages"][-1]["content"].rsplit("\n", 1)[-1]
    return f"Sure — about {last}, here is a thoughtful answer of moderate length."


def stable(request: dict[str, Any]) -> list[tuple[str, str]]:
    """Everything but the last message (which carries the volatile context)."""
    return [(m["role"], m["content"]) for m in request["messages"][:-1]]


async def test_500_turns_stay_in_budget_and_share_their_prefix(tmp_path: Path) -> None:
    fake = FakeLLM(reply=reply)
    prompt = PromptSettings(budget_tokens=BUDGET, history_share=0.6, block_turns=8)
    async with running_fake_llm(fake) as url, \
            running_core(tmp_path / "k.db", [url], prompt=prompt, max_reply_tokens=200,
                         reply_tokens=200) as core:
        for n in range(500):
            text = f"message number {n} " + "with some words " * (n % 7)
            await core.dispatcher.submit(message("long", n, text=text))
            await core.dispatcher.join()
            await core.agent.wait_background()
        state = await core.store.conversation(message("long", 0).conversation)
    chats = [r for r in fake.chat_requests if "running summary" not in r["messages"][0]["content"]]
    summaries = len(fake.chat_requests) - len(chats)
    assert len(chats) == 500 and summaries > 0 and state.summary_upto > 0
    sizes = [sum(message_tokens(m["content"]) for m in r["messages"]) for r in chats]
    assert max(sizes) <= BUDGET
    assert sizes[-1] < BUDGET and max(sizes[250:]) - min(sizes[250:]) < BUDGET  # flat, bounded
    shared = sum(
        stable(prev) == stable(cur)[: len(stable(prev))] for prev, cur in pairwise(chats)
    )
    assert shared / (len(chats) - 1) > 0.85, f"only {shared} of 499 prompts extend the previous"
    assert "They talked about plans" in chats[-1]["messages"][0]["content"]
