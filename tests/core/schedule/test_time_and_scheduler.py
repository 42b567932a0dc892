"""Reminders in the person's time zone, across clock changes; the scheduler fires each once."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from core.events import ConversationKey, Sender
from core.schedule.model import Kind, NewSchedule
from core.schedule.times import next_occurrence, say_local
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM

LISBON = ZoneInfo("Europe/Lisbon")


def local(*args: int) -> datetime:
    return datetime(*args, tzinfo=LISBON)  # type: ignore[misc]


@pytest.mark.parametrize("spring", [True, False], ids=["march", "october"])
def test_daily_nine_stays_nine_across_clock_changes(spring: bool) -> None:
    # Lisbon: 29 March 2026 01:00 → 02:00 (UTC+1); 25 October 2026 02:00 → 01:00 (UTC+0)
    start = local(2026, 3, 27, 9) if spring else local(2026, 10, 23, 9)
    anchor = start.replace(tzinfo=None)
    moment, seen = start.astimezone(UTC), []
    for _ in range(5):
        nxt = next_occurrence("FREQ=DAILY", anchor, "Europe/Lisbon", moment)
        assert nxt is not None
        seen.append(nxt)
        moment = nxt
    assert [m.astimezone(LISBON).hour for m in seen] == [9] * 5
    utc_hours = [m.hour for m in seen]
    assert utc_hours == ([9, 8, 8, 8, 8] if spring else [8, 9, 9, 9, 9])
    assert len({m.date() for m in seen}) == 5  # one a day, none skipped or doubled


async def test_tomorrow_at_nine_sent_at_2330_in_lisbon(tmp_path: Path, fake: FakeLLM) -> None:
    """At 23:30 on 28 March, "tomorrow at 9" is 09:00 on the 29th, after the clock change."""
    now = local(2026, 3, 28, 23, 30).astimezone(UTC)
    fake.script_tool_call("create_reminder", {"text": "water the plants",
                                              "when": "2026-03-29T09:00:00"})
    fake.script(["Will do."])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", now=now) as core:
        reply = await core.send(message("a", 1, "remind me tomorrow at 9 to water the plants"))
        volatile = fake.chat_requests[0]["messages"][-1]["content"]
        assert "Saturday 28 March 2026, 23:30 (UTC+00:00, Europe/Lisbon)" in volatile
        [item] = await core.reminders()
        assert item.due_at == datetime(2026, 3, 29, 8, 0, tzinfo=UTC)  # 09:00 WEST
        assert "Sunday 29 March, 09:00 Lisbon time" in reply
        core.clock.now = datetime(2026, 3, 29, 7, 59, 59, tzinfo=UTC)
        assert await core.scheduler.tick() == pytest.approx(1.0)
        core.clock.now = datetime(2026, 3, 29, 8, 0, tzinfo=UTC)
        await core.scheduler.tick()
        await core.dispatcher.join()
    fired = core.channel.replies[-1]
    assert fired.inbound.conversation == ConversationKey("kith", "test", "a")
    assert fired.text == "⏰ Reminder: water the plants (Sunday 29 March, 09:00 Lisbon time)"


async def test_daily_reminder_fires_at_nine_local_through_october(
    tmp_path: Path, fake: FakeLLM
) -> None:
    fake.script_tool_call("create_reminder", {"text": "pills", "when": "2026-10-23T09:00:00",
                                              "repeat_quote": "daily",
                                              "repeat": "FREQ=DAILY"})
    fake.script(["Daily at 9 it is."])
    now = local(2026, 10, 22, 20).astimezone(UTC)
    async with tool_core(tmp_path / "k.db", fake.base_url or "", now=now) as core:
        reply = await core.send(message("a", 1, "remind me daily at 9 to take my pills"))
        assert "every day" in reply
        for day in (23, 24, 25, 26):
            [item] = await core.reminders()
            assert item.due_at.astimezone(LISBON).replace(tzinfo=None) == datetime(2026, 10,
                                                                                   day, 9)
            core.clock.now = item.due_at
            await core.scheduler.tick()
            await core.dispatcher.join()
            assert core.channel.replies[-1].text.startswith("⏰ Reminder: pills")
            assert "09:00 Lisbon time" in core.channel.replies[-1].text
    assert len(core.channel.replies) == 1 + 4


async def test_fifty_due_in_the_same_second_fifty_messages_each_once(
    tmp_path: Path, fake: FakeLLM
) -> None:
    due = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)
    async with tool_core(tmp_path / "k.db", fake.base_url or "") as core:
        for n in range(50):
            origin = message(f"c{n}", 1, "", sender=Sender(f"user-{n}", f"P{n}"))
            person = await core.store.person_for("test", origin.sender)
            await core.store.schedule.add(NewSchedule(
                person, Kind.REMINDER, origin, f"task {n}", "Europe/Lisbon", None,
                due + timedelta(microseconds=n * 1000), due.replace(tzinfo=None)), core.clock())
        core.clock.now = due + timedelta(seconds=1)
        # two schedulers racing on the same store (e.g. a restart overlapping): still once each
        other = type(core.scheduler)(core.store.schedule, core.dispatcher.submit, core.clock)
        await asyncio.gather(core.scheduler.tick(), other.tick(), core.scheduler.tick())
        await core.dispatcher.join()
        await core.scheduler.tick()
        await core.dispatcher.join()
    chats = sorted(r.inbound.conversation.chat_id for r in core.channel.replies)
    assert chats == sorted(f"c{n}" for n in range(50))
    for reply in core.channel.replies:
        n = reply.inbound.conversation.chat_id[1:]
        assert reply.text == f"⏰ Reminder: task {n} (Wednesday 2 December, 09:00 Lisbon time)"
    assert core.scheduler.fired + other.fired == 50


async def test_scheduler_sleeps_until_due_and_wakes_on_insert(
    tmp_path: Path, fake: FakeLLM
) -> None:
    """The real loop: nothing pending → it waits; a new reminder wakes it; it fires on time."""
    async with tool_core(tmp_path / "k.db", fake.base_url or "") as core:
        core.scheduler.clock = core.agent.clock = lambda: datetime.now(UTC)
        core.scheduler.start()
        await asyncio.sleep(0.1)
        origin = message("w", 1, "")
        person = await core.store.person_for("test", origin.sender)
        due = datetime.now(UTC) + timedelta(seconds=0.5)
        await core.store.schedule.add(NewSchedule(
            person, Kind.REMINDER, origin, "tea", "UTC", None, due, due.replace(tzinfo=None)),
            datetime.now(UTC))
        for _ in range(100):
            if core.channel.replies:
                break
            await asyncio.sleep(0.02)
        late = datetime.now(UTC) - due
        await core.scheduler.stop()
    assert [r.text.split(" (")[0] for r in core.channel.replies] == ["⏰ Reminder: tea"]
    assert late < timedelta(seconds=1)


def test_say_local_names_the_year_only_when_not_this_year() -> None:
    moment = datetime(2027, 1, 8, 15, tzinfo=UTC)
    assert say_local(moment, "Europe/Lisbon", datetime(2027, 1, 1, tzinfo=UTC)) == \
        "Friday 8 January, 15:00 Lisbon time"
    assert say_local(moment, "America/New_York", datetime(2026, 12, 1, tzinfo=UTC)) == \
        "Friday 8 January 2027, 10:00 New York time"


