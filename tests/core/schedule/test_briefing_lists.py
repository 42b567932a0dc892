"""The daily briefing (nothing on an empty day), lists in /export and gone after /forget all,
and the remember/forget tools over the memory controls."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from core.memory.model import PRIVATE
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM


async def test_briefing_says_nothing_on_an_empty_day(tmp_path: Path, fake: FakeLLM) -> None:
    now = datetime(2026, 7, 1, 12, tzinfo=UTC)  # Lisbon is UTC+1 in July
    async with tool_core(tmp_path / "k.db", fake.base_url or "", now=now) as core:
        set_reply = await core.send(message("a", 1, "/briefing 07:30"))
        assert "07:30 Europe/Lisbon" in set_reply and "Thursday 2 July, 07:30" in set_reply
        core.clock.now = datetime(2026, 7, 2, 6, 30, tzinfo=UTC)  # 07:30 in Lisbon
        await core.scheduler.tick()
        await core.dispatcher.join()
        # an empty day: the turn produces no text, so no channel sends anything
        assert [r.text for r in core.channel.replies] == [set_reply, ""]
        person = await core.person()
        await core.store.lists.add_items(person, "shopping", ["oat milk"], core.clock())
        core.clock.now += timedelta(days=1)
        await core.scheduler.tick()
        await core.dispatcher.join()
        [_, _, briefing] = core.channel.replies
        assert briefing.text == ("Good morning! Your Friday 3 July:\nOpen on your lists:\n"
                                 "- shopping: oat milk")
        history = await core.store.history(briefing.inbound.conversation, 0, 10)
        assert history[-1].text == briefing.text  # part of the conversation's history


async def test_lists_are_exported_and_forgotten_for_real(tmp_path: Path, fake: FakeLLM) -> None:
    async with tool_core(tmp_path / "k.db", fake.base_url or "") as core:
        fake.script_tool_call("list_add", {"list": "the Packing list", "items": ["charger"]})
        fake.script(["Added."])
        await core.send(message("a", 1, "add charger to my packing list"))
        fake.script_tool_call("create_reminder", {"text": "check in",
                                                  "when": "2026-12-03T08:00:00+00:00"})
        fake.script(["Set."])
        await core.send(message("a", 2, "remind me to check in"))
        exported = json.loads(await core.send(message("a", 3, "/export")))
        assert exported["lists"][0]["list"] == "packing"
        assert exported["lists"][0]["item"] == "charger"
        assert exported["schedules"][0]["text"] == "check in"
        answer = await core.send(message("a", 4, "/forget all"))
        assert "1 list items and 1 reminders" in answer
        db = core.store.db
        assert db.execute("SELECT count(*) FROM list_items").fetchone()[0] == 0
        assert db.execute("SELECT count(*) FROM schedules").fetchone()[0] == 0
        assert await core.scheduler.tick() > 3000  # nothing is due any more


async def test_remember_and_forget_tools(tmp_path: Path, fake: FakeLLM) -> None:
    async with tool_core(tmp_path / "k.db", fake.base_url or "") as core:
        fake.script(['[remember(fact="Ana is allergic to peanuts")]', "Got it."])
        reply = await core.send(message("a", 1, "remember that I'm allergic to peanuts"))
        person = await core.person()
        [memory] = await core.store.memories.memories(person)
        assert (memory.text, memory.scope, memory.confidence) == (
            "Ana is allergic to peanuts", PRIVATE, 1.0)
        assert f"({memory.id}; /memory shows it)" in reply
        fake.script_tool_call("forget", {"fact": "peanuts"})
        fake.script(["Confirm with /forget yes."])
        reply = await core.send(message("a", 2, "forget that I'm allergic to peanuts"))
        assert "These memories match" in reply and "/forget yes" in reply
        assert "Done" in await core.send(message("a", 3, "/forget yes"))
        assert await core.store.memories.memories(person) == []
