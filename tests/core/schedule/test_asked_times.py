"""Reminder times as a small model gives them: local wall clock, a named zone, plain repeats.

The table is what the person said, what the model passes, and the local time and rule that
must be stored — across zones on both sides of the equator and across clock changes.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.schedule.asked import Asked, first_due, resolve
from core.schedule.times import TimeError, next_occurrence
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM

ZONES = ["Europe/Lisbon", "America/New_York", "Asia/Kolkata", "Australia/Sydney",
         "Pacific/Auckland", "UTC"]


def at(zone: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(zone))  # type: ignore[misc]


# (person's zone, local now, what the model passed, local due, rule)
CASES: list[tuple[str, tuple[int, ...], Asked, tuple[int, ...], str | None]] = [
    # "tomorrow at 9" the evening before spring-forward in Lisbon
    ("Europe/Lisbon", (2026, 3, 28, 23, 30), Asked(date="2026-03-29", time="09:00"),
     (2026, 3, 29, 9, 0), None),
    # "at 3pm" said in the morning: today; said at 16:00: tomorrow
    ("Europe/Lisbon", (2026, 12, 7, 10, 0), Asked(time="3pm"), (2026, 12, 7, 15, 0), None),
    ("Europe/Lisbon", (2026, 12, 7, 16, 0), Asked(time="15:00"), (2026, 12, 8, 15, 0), None),
    # New York, across its November fall-back
    ("America/New_York", (2026, 10, 31, 20, 0), Asked(date="2026-11-02", time="08:30"),
     (2026, 11, 2, 8, 30), None),
    # a half-hour zone
    ("Asia/Kolkata", (2026, 12, 7, 9, 0), Asked(time="18:45"), (2026, 12, 7, 18, 45), None),
    # southern hemisphere, first Sunday of April DST end
    ("Australia/Sydney", (2026, 4, 4, 21, 0), Asked(date="2026-04-05", time="9:00"),
     (2026, 4, 5, 9, 0), None),
    # "every Monday at 9" asked on a Wednesday
    ("Pacific/Auckland", (2026, 12, 9, 12, 0), Asked(time="09:00", repeat="weekly",
                                                     days=("monday",)),
     (2026, 12, 14, 9, 0), "FREQ=WEEKLY;BYDAY=MO"),
    ("UTC", (2026, 12, 7, 12, 0), Asked(time="07:00", repeat="weekly",
                                        days=("Tue", "thursday")),
     (2026, 12, 8, 7, 0), "FREQ=WEEKLY;BYDAY=TU,TH"),
    # days without repeat name the day, once (a repeat is never added uninvited)
    ("UTC", (2026, 12, 7, 12, 0), Asked(time="07:00", days=("thursday",)),
     (2026, 12, 10, 7, 0), None),
    ("Europe/Lisbon", (2026, 12, 7, 9, 0), Asked(time="17:00", days=("monday",)),
     (2026, 12, 7, 17, 0), None),
    # an end date without a repeat (small models fill it) ends nothing: once
    ("Europe/Lisbon", (2026, 12, 7, 9, 0), Asked(time="17:00", repeat="never",
                                                 until="2027-01-01"),
     (2026, 12, 7, 17, 0), None),
    # every day at 8 until the end of the year, asked after 8
    ("Europe/Lisbon", (2026, 12, 7, 9, 0), Asked(time="08:00", repeat="daily",
                                                 until="2026-12-31"),
     (2026, 12, 8, 8, 0), "FREQ=DAILY;UNTIL=20261231T235959"),
    # "weekly on monday until today" (Qwen's way of saying once) is once
    ("Europe/Lisbon", (2026, 12, 7, 9, 0), Asked(time="17:00", repeat="weekly",
                                                 days=("monday",), until="2026-12-07"),
     (2026, 12, 7, 17, 0), None),
    ("America/New_York", (2026, 12, 7, 9, 0), Asked(date="2026-12-15", time="10:00",
                                                    repeat="monthly"),
     (2026, 12, 15, 10, 0), "FREQ=MONTHLY"),
    # the older form still works: ISO without offset is local, with offset is exact
    ("Europe/Lisbon", (2026, 12, 7, 9, 0), Asked(when="2026-12-08T09:00:00"),
     (2026, 12, 8, 9, 0), None),
    ("Europe/Lisbon", (2026, 12, 7, 9, 0), Asked(when="2026-12-08T09:00:00-05:00"),
     (2026, 12, 8, 14, 0), None),
    ("Europe/Lisbon", (2026, 12, 7, 9, 0), Asked(time="09:00", repeat="FREQ=DAILY"),
     (2026, 12, 7, 9, 0), "FREQ=DAILY"),
]


@pytest.mark.parametrize(("tz", "now", "asked", "due", "rule"), CASES)
def test_the_stored_local_time_and_rule(tz: str, now: tuple[int, ...], asked: Asked,
                                        due: tuple[int, ...], rule: str | None) -> None:
    moment = at(tz, *now).astimezone(UTC)
    found = resolve(asked, tz, moment)
    first = first_due(found, moment)
    assert first.astimezone(ZoneInfo(tz)).replace(tzinfo=None) == datetime(*due)  # type: ignore[misc]
    assert found.rule == rule


def test_another_place_named_is_its_own_zone() -> None:
    now = at("Europe/Lisbon", 2026, 12, 7, 10)
    found = resolve(Asked(time="09:00", date="2026-12-08", zone="America/New_York"),
                    "Europe/Lisbon", now)
    assert found.due == at("America/New_York", 2026, 12, 8, 9).astimezone(UTC)
    assert found.zone == "America/New_York"


@pytest.mark.parametrize(("given", "person", "zone"), [
    ("UTC+00:00", "Europe/Lisbon", "Europe/Lisbon"),  # read in the prompt: their own zone
    ("+05:30", "Asia/Kolkata", "Asia/Kolkata"),
    ("UTC-05:00", "America/New_York", "America/New_York"),
    ("UTC-05:00", "Europe/Lisbon", "Etc/GMT+5"),  # another fixed offset (POSIX sign)
    ("GMT+2", "UTC", "Etc/GMT-2"),
    ("UTC", "Europe/Lisbon", "Europe/Lisbon"),
    ("Asia/Tokyo", "Europe/Lisbon", "Asia/Tokyo"),
])
def test_an_offset_for_a_zone(given: str, person: str, zone: str) -> None:
    now = datetime(2026, 12, 7, 12, tzinfo=UTC)
    assert resolve(Asked(time="09:00", zone=given), person, now).zone == zone


def test_a_half_hour_offset_not_theirs_asks_for_a_place() -> None:
    with pytest.raises(TimeError, match="zone name like Asia/Kolkata"):
        resolve(Asked(time="09:00", zone="+05:30"), "Europe/Lisbon",
                datetime(2026, 12, 7, 12, tzinfo=UTC))


@pytest.mark.parametrize("tz", ZONES)
def test_in_two_hours_is_two_hours(tz: str) -> None:
    now = datetime(2026, 3, 29, 0, 30, tzinfo=UTC)  # Lisbon springs forward inside it
    assert resolve(Asked(in_minutes=120), tz, now).due == now + timedelta(hours=2)


@pytest.mark.parametrize(("asked", "says"), [
    (Asked(time="quarter past"), "should be written like 15:00"),
    (Asked(time="25:00"), "should be written like 15:00"),
    (Asked(date="next friday", time="09:00"), "should be written like 2026-12-24"),
    (Asked(date="2026-12-24"), "a time of day is missing"),
    (Asked(), "give time"),
    (Asked(time="09:00", repeat="fortnightly"), "should be daily, weekly, monthly or yearly"),
    (Asked(time="09:00", repeat="weekly", days=("someday",)), "not a day of the week"),
    (Asked(time="09:00", zone="Mars/Olympus"), "unknown time zone"),
])
def test_errors_are_plain_words(asked: Asked, says: str) -> None:
    with pytest.raises(TimeError, match=says) as err:
        resolve(asked, "Europe/Lisbon", datetime(2026, 12, 7, 12, tzinfo=UTC))
    assert "RRULE" not in str(err.value) and "FREQ" not in str(err.value)


@given(st.sampled_from(ZONES), st.integers(0, 23), st.integers(0, 59),
       st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2028, 12, 31)))
def test_a_given_local_time_is_kept_in_every_zone(tz: str, hour: int, minute: int,
                                                  now: datetime) -> None:
    """Whatever the moment and zone, a daily HH:MM first fires at HH:MM local (or the hour
    after, when that wall-clock time does not exist that day) within a day."""
    moment = now.replace(tzinfo=UTC)
    found = resolve(Asked(time=f"{hour:02d}:{minute:02d}", repeat="daily"), tz, moment)
    assert found.rule is not None
    first = next_occurrence(found.rule, found.anchor, tz, moment)
    assert first is not None and moment < first <= moment + timedelta(days=1, hours=1)
    local = first.astimezone(ZoneInfo(tz))
    assert local.minute == minute and local.hour in (hour, (hour + 1) % 24)


async def test_every_monday_through_the_tool(tmp_path: Path, fake: FakeLLM) -> None:
    now = at("Europe/Lisbon", 2026, 12, 9, 12).astimezone(UTC)  # a Wednesday
    fake.script_tool_call("create_reminder", {"text": "stand-up", "time": "9:30",
                                              "repeat_quote": "every Monday",
                                              "repeat": "weekly", "days": ["monday"]})
    fake.script(["Done."])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", now=now) as core:
        reply = await core.send(message("a", 1, "remind me every Monday at 9:30 of stand-up"))
        [item] = await core.reminders()
    assert item.rule == "FREQ=WEEKLY;BYDAY=MO"
    assert item.due_at == at("Europe/Lisbon", 2026, 12, 14, 9, 30).astimezone(UTC)
    assert "every Monday" in reply and "FREQ" not in reply
    tool_result = fake.chat_requests[1]["messages"][-1]["content"]
    assert "confirm in" not in tool_result and "was shown" not in tool_result  # no instructions


async def test_a_bad_time_goes_back_to_the_model_in_words(tmp_path: Path,
                                                         fake: FakeLLM) -> None:
    now = at("Europe/Lisbon", 2026, 12, 9, 12).astimezone(UTC)
    fake.script_tool_call("create_reminder", {"text": "tea", "time": "teatime"})
    fake.script_tool_call("create_reminder", {"text": "tea", "time": "17:00"})
    fake.script(["Set for five."])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", now=now) as core:
        reply = await core.send(message("a", 1, "remind me at teatime"))
        [item] = await core.reminders()
    assert "should be written like 15:00" in fake.chat_requests[1]["messages"][-1]["content"]
    assert item.due_at == at("Europe/Lisbon", 2026, 12, 9, 17).astimezone(UTC)
    assert "15:00" not in reply and "RRULE" not in reply


async def test_the_same_reminder_asked_twice_is_one(tmp_path: Path, fake: FakeLLM) -> None:
    now = at("Europe/Lisbon", 2026, 12, 7, 9).astimezone(UTC)
    args = {"text": "pick up the kids", "time": "17:00"}
    fake.script_tool_call("create_reminder", args)
    fake.script_tool_call("create_reminder", args)
    fake.script(["Set."])
    async with tool_core(tmp_path / "k.db", fake.base_url or "", now=now) as core:
        reply = await core.send(message("a", 1, "remind me at 5pm to pick up the kids"))
        [item] = await core.reminders()
    assert item.rule is None
    assert reply.count("Reminder set") == 1
    assert "already set" in fake.chat_requests[2]["messages"][-1]["content"]
