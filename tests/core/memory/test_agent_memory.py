"""Memory through the real agent: what reaches the exact prompt the model receives."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

from core import metrics
from tests.core.memory.harness import (
    Brain,
    chat_prompts,
    is_extraction,
    item,
    memories_json,
    memory_core,
    msg,
)
from tests.fakes.llm import FakeLLM


def failures(reason: str) -> float:
    return metrics.MEMORY_EXTRACT_FAILURES.labels(reason=reason)._value.get()


async def link(core, a_channel: str, a_user: str, b_channel: str, b_user: str) -> None:  # type: ignore[no-untyped-def]
    answer = await core.say(msg(a_channel, a_user, "/link"))
    code = re.search(r"code is (\w+)", answer).group(1)  # type: ignore[union-attr]
    linked = await core.say(msg(b_channel, b_user, f"/link {code}"))
    assert linked.startswith("Linked"), linked


async def test_a_fact_told_on_one_channel_is_recalled_on_another_after_linking(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"dog": memories_json(item("Has a dog named Pixel"))})
    async with memory_core(tmp_path / "k.db", url) as core:
        await core.say(msg("telegram", "t-ana", "My dog is called Pixel"))
        await core.say(msg("whatsapp", "w-ana", "How is my dog Pixel doing?"))
        assert "Has a dog named Pixel" not in chat_prompts(fake)[-1]  # not linked yet
        await link(core, "telegram", "t-ana", "whatsapp", "w-ana")
        await core.say(msg("whatsapp", "w-ana", "What should I feed my dog?"))
    last = fake.chat_requests[-1]
    assert not is_extraction(last) or chat_prompts(fake)
    prompt = chat_prompts(fake)[-1]
    assert "Has a dog named Pixel (telegram, 2026-11-20)" in prompt
    # volatile part: in the last user message, after the stable prefix
    body = [b for b in fake.chat_requests if not is_extraction(b)][-1]
    assert "Has a dog named Pixel" in body["messages"][-1]["content"]
    assert "Pixel" not in body["messages"][0]["content"]


async def test_an_updated_fact_replaces_the_old_one_and_history_is_kept(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm

    def moved(body: dict[str, object]) -> str:
        known = re.search(r"\[(m[0-9a-f]{8})\] Lives in Lisbon", str(body["messages"]))
        assert known, "the old memory was shown to the model with its id"
        return memories_json(item("Lives in Porto", "update", target=known.group(1)))

    fake.reply = Brain({"live in Lisbon": memories_json(item("Lives in Lisbon")),
                        "moved to Porto": moved})
    async with memory_core(tmp_path / "k.db", url) as core:
        await core.say(msg("telegram", "ana", "I live in Lisbon"))
        await core.say(msg("telegram", "ana", "News: I moved to Porto, where I live now"))
        await core.say(msg("telegram", "ana", "Where do I live these days?"))
        history = json.loads(await core.say(msg("telegram", "ana", "/export")))["memories"]
    prompt = chat_prompts(fake)[-1]
    assert "Lives in Porto" in prompt and "Lives in Lisbon" not in prompt
    old = next(m for m in history if m["text"] == "Lives in Lisbon")
    new = next(m for m in history if m["text"] == "Lives in Porto")
    assert old["superseded_by"] == new["id"] and new["superseded_by"] is None


async def test_an_expired_memory_is_not_recalled(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"this week": memories_json(
        item("Is in Berlin for a conference", expires_at="2026-11-23T00:00:00Z"))})
    async with memory_core(tmp_path / "k.db", url) as core:
        await core.say(msg("telegram", "ana", "I'm in Berlin this week for a conference"))
        await core.say(msg("telegram", "ana", "Any tips for the conference in Berlin?"))
        assert "Is in Berlin for a conference" in chat_prompts(fake)[-1]
        core.clock.advance(days=4)
        await core.say(msg("telegram", "ana", "Any tips for the conference in Berlin?"))
        assert "Is in Berlin for a conference" not in chat_prompts(fake)[-1]
        listing = await core.say(msg("telegram", "ana", "/memory"))
    assert "Berlin" not in listing


async def test_malformed_extraction_stores_nothing_counts_and_never_touches_the_reply(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    bad = {
        "broken": '{"memories": [{"decision": "new", "text": "Likes ',
        "wrong": '{"memories": [{"decision": "maybe", "text": "x", "kind": "fact"}]}',
        "empty": "",
    }
    fake.reply = Brain({key: answer for key, answer in bad.items()}, chat_reply="fine reply")
    before = {r: failures(r) for r in ("json", "schema", "empty")}
    async with memory_core(tmp_path / "k.db", url) as core:
        for key in bad:
            assert await core.say(msg("telegram", "ana", f"{key} output please")) == "fine reply"
        person = await core.store.person_for("telegram", msg("telegram", "ana", "x").sender)
        assert await core.store.memories.memories(person, history=True) == []
    assert [b for b in fake.chat_requests if is_extraction(b)].__len__() == 6  # one retry each
    assert failures("json") - before["json"] == 2
    assert failures("schema") - before["schema"] == 2
    assert failures("empty") - before["empty"] == 2


async def test_a_fenced_answer_with_trailing_commas_is_repaired_and_a_retry_can_succeed(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    answers = iter(["Sure! {not json", memories_json(item("Plays the cello"))])
    fake.reply = Brain({
        "tea": '```json\n{"memories": [{"decision": "new", "text": "Drinks green tea", '
               '"kind": "fact", "confidence": 0.8, "scope": "private",},]}\n```',
        "cello": lambda body: next(answers),
    })
    async with memory_core(tmp_path / "k.db", url) as core:
        await core.say(msg("telegram", "ana", "I drink green tea"))
        await core.say(msg("telegram", "ana", "I play the cello"))
        listing = await core.say(msg("telegram", "ana", "/memory"))
    assert "Drinks green tea" in listing and "Plays the cello" in listing
    retry = [b for b in fake.chat_requests if is_extraction(b)][-1]
    assert retry["messages"][-1]["role"] == "user" and "invalid" in retry["messages"][-1]["content"]
    assert retry["response_format"]["type"] == "json_schema"


async def test_learning_off_stops_extraction_and_on_resumes(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"piano": memories_json(item("Plays piano"))})
    async with memory_core(tmp_path / "k.db", url) as core:
        assert "stopped" in await core.say(msg("telegram", "ana", "/learning off"))
        await core.say(msg("telegram", "ana", "I play piano"))
        assert not [b for b in fake.chat_requests if is_extraction(b)]
        assert "Learning is off" in await core.say(msg("telegram", "ana", "/learning"))
        await core.say(msg("telegram", "ana", "/learning on"))
        await core.say(msg("telegram", "ana", "I play piano"))
        assert "Plays piano" in await core.say(msg("telegram", "ana", "/memory"))


async def test_explicit_prefs_win_over_learned_ones_and_learned_style_applies(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"call me": memories_json(
        item("Annie", kind="preference", pref_key="name"),
        item("Prefers short answers", kind="style"),
        item("Portuguese", kind="preference", pref_key="language"),
    )})
    async with memory_core(tmp_path / "k.db", url) as core:
        await core.say(msg("telegram", "ana", "call me Annie, in Portuguese, and keep it short"))
        await core.say(msg("telegram", "ana", "/prefs name Ana"))
        await core.say(msg("telegram", "ana", "hello"))
    system = [b for b in fake.chat_requests if not is_extraction(b)][-1]["messages"][0]["content"]
    assert "Call them: Ana" in system and "Annie" not in system
    assert "Reply in: Portuguese" in system and "They like: Prefers short answers" in system


async def test_embeddings_are_stored_and_used_when_configured(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"daughter": memories_json(item("Daughter Mia studies violin"))})
    async with memory_core(tmp_path / "k.db", url, embed=True) as core:
        await core.say(msg("telegram", "ana", "My daughter Mia started violin"))
        # no word in common with the memory: only the vector search can find it
        await core.say(msg("telegram", "ana", "violins"))
        rows = core.store.db.execute("SELECT dim, length(vec) FROM memory_vectors").fetchall()
    assert rows == [(64, 256)]  # float32 BLOB
    assert fake.embedding_requests
    assert "Daughter Mia studies violin" in chat_prompts(fake)[-1]


async def test_a_slow_extraction_does_not_delay_the_reply(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"kayak": memories_json(item("Owns a kayak"))})
    async with memory_core(tmp_path / "k.db", url) as core:
        reply = core.agent.turn(msg("telegram", "ana", "I bought a kayak"))
        text = await reply.drain()
        assert text == "ok" and core.agent.learner._running  # extraction still running
        await core.agent.wait_background()
        assert "Owns a kayak" in await core.say(msg("telegram", "ana", "/memory"))


async def test_reply_time_memories_have_sources_and_the_memory_listing_shows_them(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.reply = Brain({"Rex": memories_json(item("Has a cat named Rex", scope="shared"))})
    async with memory_core(tmp_path / "k.db", url) as core:
        first = msg("matrix", "ana", "My cat is Rex")
        await core.say(first)
        listing = await core.say(msg("matrix", "ana", "/memory"))
        person = await core.store.person_for("matrix", first.sender)
        [memory] = await core.store.memories.memories(person)
    assert memory.source.inbound_id == first.id and memory.source.channel == "matrix"
    assert memory.scope == "shared" and memory.expires_at is None
    assert f"[{memory.id}] Has a cat named Rex — matrix, 2026-11-20 (shared)" in listing
    assert timedelta(0) <= memory.created_at - core.clock.now <= timedelta(0)  # type: ignore[operator]
