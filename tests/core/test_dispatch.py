from __future__ import annotations

import asyncio
from pathlib import Path

from tests.core.harness import message, running_core
from tests.fakes.llm import FakeLLM, Fault


async def test_the_same_inbound_fifty_times_gets_one_llm_call_and_one_reply(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    async with running_core(tmp_path / "k.db", [url]) as core:
        inbound = message("a", 1)
        accepted = await asyncio.gather(*(core.dispatcher.submit(inbound) for _ in range(50)))
        await core.dispatcher.join()
        again = await core.dispatcher.submit(inbound)  # a platform retry after the answer
        await core.dispatcher.join()
    assert sum(accepted) == 1 and again is False
    assert len(fake.chat_requests) == 1
    assert core.channel.texts() == ["You said: message 1 in a"]


async def test_a_hanging_conversation_does_not_block_others_and_order_holds(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.inject(Fault.hang())  # the very first request never answers
    async with running_core(tmp_path / "k.db", [url], timeout=3.0, max_attempts=1) as core:
        await core.dispatcher.submit(message("stuck", 1))
        while not fake.chat_requests:
            await asyncio.sleep(0.01)
        for n in range(1, 6):
            for chat in ("b", "c"):
                await core.dispatcher.submit(message(chat, n))
        while len(core.channel.texts("b")) + len(core.channel.texts("c")) < 10:
            await asyncio.wait_for(core.channel.arrived.wait(), 5)
            core.channel.arrived.clear()
        # the hung call times out after 3 s and then tells "stuck" so: all ten were
        # answered while it still hung, so none of them waited for it
        assert core.channel.texts("stuck") == []
        await core.dispatcher.submit(message("stuck", 2))
        await core.dispatcher.join()
    for chat in ("b", "c"):
        assert core.channel.texts(chat) == [f"You said: message {n} in {chat}" for n in range(1, 6)]
    stuck = core.channel.texts("stuck")  # told it was kept; answered once the model is back
    assert len(stuck) == 3 and "can't reach my language model" in stuck[0]
    assert stuck[1:] == ["You said: message 1 in stuck", "You said: message 2 in stuck"]


async def test_one_conversation_is_answered_in_arrival_order_under_jitter(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.ttft = 0.01
    async with running_core(tmp_path / "k.db", [url], concurrency=4) as core:
        for n in range(20):
            await core.dispatcher.submit(message("a", n))
        await core.dispatcher.join()
    assert core.channel.texts("a") == [f"You said: message {n} in a" for n in range(20)]
    prompts = [r["messages"][-1]["content"] for r in fake.chat_requests]
    assert [p.rsplit("\n", 1)[-1] for p in prompts] == [f"message {n} in a" for n in range(20)]


async def test_a_cut_stream_keeps_what_arrived_and_says_so(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = "one two three four five six"
    fake.inject(Fault.cut(after_chunks=3))
    async with running_core(tmp_path / "k.db", [url]) as core:
        await core.dispatcher.submit(message("a", 1))
        await core.dispatcher.join()
    reply = core.channel.replies[0]
    assert reply.text.startswith("one two") and "incomplete" in reply.text
    assert reply.status == "interrupted"


async def test_resume_answers_what_was_recorded_but_not_answered(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    async with running_core(tmp_path / "k.db", [url]) as core:
        await core.store.record_inbound(message("a", 1))  # recorded, then "crashed"
        await core.store.record_inbound(message("a", 2))
        assert await core.dispatcher.resume() == 2
        assert await core.dispatcher.resume() == 0  # already queued: not twice
        await core.dispatcher.join()
        assert await core.dispatcher.resume() == 0
    assert core.channel.texts() == ["You said: message 1 in a", "You said: message 2 in a"]
    assert len(fake.chat_requests) == 2
