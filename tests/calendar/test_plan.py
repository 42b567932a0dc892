"""The week planner (pure): blocks in free working time, in the preferred part of the day,
around events and reminders, repetitions on different days, deterministic."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from core.calendar.agenda import window_for
from core.calendar.plan import HOURS, Part, Wish, plan

LISBON = ZoneInfo("Europe/Lisbon")
MONDAY = datetime(2027, 3, 29, 8, 0, tzinfo=LISBON)  # the day after Lisbon's DST change
WEEK = window_for("week", MONDAY, LISBON)


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` (local) on the ``day``-th day from Monday 29 March."""
    return datetime.combine(MONDAY.date() + timedelta(days=day),
                            datetime.min.time(), LISBON).replace(hour=hour, minute=minute)


def said(blocks: object) -> list[str]:
    return [f"{b.start:%a %H:%M}-{b.end:%H:%M} {b.title}" for b in blocks]  # type: ignore[attr-defined]


def test_blocks_go_around_events_in_the_preferred_part_on_the_least_busy_days() -> None:
    busy = [(at(0, 9), at(0, 12)), (at(1, 9), at(1, 10)), (at(2, 14), at(2, 16, 30))]
    result = plan([Wish("Write report", 120, Part.MORNING), Wish("Gym", 60, Part.EVENING, 3),
                   Wish("Call the bank", 30)], busy, WEEK, LISBON, MONDAY)
    # busy working hours: Mon 3 h, Tue 1 h, Wed 2.5 h, Thu and Fri none. The longest wish
    # first, on the least busy day; each later wish sees the blocks placed before it.
    assert said(result.blocks) == [
        "Tue 18:00-19:00 Gym",
        "Thu 09:00-11:00 Write report",
        "Thu 18:00-19:00 Gym",
        "Fri 09:00-09:30 Call the bank",
        "Fri 18:00-19:00 Gym",
    ]
    assert result.unplaced == ()


def test_nothing_before_now_and_starts_on_quarter_hours() -> None:
    now = at(0, 10, 7)
    busy = [(at(d, 9), at(d, 17, 50)) for d in range(1, 5)]  # Tue–Fri taken
    result = plan([Wish("Read", 45)], busy, WEEK, LISBON, now)
    assert said(result.blocks) == ["Mon 10:15-11:00 Read"]


def test_the_weekend_only_when_the_week_is_full_and_what_does_not_fit_is_named() -> None:
    busy = [(at(d, 8), at(d, 22)) for d in range(5)]
    result = plan([Wish("Hike", 240, Part.MORNING), Wish("Paint", 120, Part.AFTERNOON, 3)],
                  busy, WEEK, LISBON, MONDAY)
    assert said(result.blocks) == ["Sat 13:00-15:00 Paint", "Sun 13:00-15:00 Paint"]
    assert result.unplaced == ("Hike", "Paint")  # a morning is 3 h; a third day is gone


def test_the_same_input_gives_the_same_plan() -> None:
    wishes = [Wish(f"task {i}", 30 + 15 * i, Part.ANY, 1 + i % 2) for i in range(6)]
    busy = [(at(d, 10), at(d, 11)) for d in range(5)]
    assert plan(wishes, busy, WEEK, LISBON, MONDAY) == plan(wishes, busy, WEEK, LISBON, MONDAY)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 6), st.integers(0, 95), st.integers(1, 24)),
                max_size=25),
       st.lists(st.tuples(st.integers(15, 300), st.sampled_from(list(Part)),
                          st.integers(1, 3)), min_size=1, max_size=6))
def test_no_block_overlaps_anything_or_leaves_its_part_of_the_day(
        events: list[tuple[int, int, int]], asked: list[tuple[int, Part, int]]) -> None:
    busy = []
    for day, quarter, quarters in events:
        start = at(day, 0) + timedelta(minutes=15 * quarter)
        busy.append((start, start + timedelta(minutes=15 * quarters)))
    wishes = [Wish(f"w{i}", m, p, t) for i, (m, p, t) in enumerate(asked)]
    result = plan(wishes, busy, WEEK, LISBON, MONDAY)
    placed = [(b.start, b.end) for b in result.blocks]
    for i, (start, end) in enumerate(placed):
        assert start >= MONDAY and end <= WEEK.end
        assert all(end <= s or start >= e for s, e in busy)
        assert all(end <= s or start >= e for s, e in placed[i + 1:])
    for block in result.blocks:
        wish = next(w for w in wishes if w.what == block.title)
        first, last = HOURS[wish.part]
        assert first <= block.start.timetz().replace(tzinfo=None)
        assert block.end - block.start == timedelta(minutes=wish.minutes)
        assert block.end.time() <= last or block.end.time() == last
    for wish in wishes:  # each repetition is placed or named, on a day of its own
        days = [b.start.date() for b in result.blocks if b.title == wish.what]
        assert len(days) == len(set(days))
        assert len(days) + result.unplaced.count(wish.what) == wish.times
