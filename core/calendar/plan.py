"""Plan a week (pure): concrete time blocks for what the person wants to do, in free time.

Deterministic: the same wishes, busy times and clock give the same blocks. Each wish is
placed, longest first, on the working day (Monday to Friday; the weekend only when the
weekdays are full) with the least busy time that has room in its part of the day, at the
earliest quarter hour there; the repetitions of one wish go on different days. Existing
timed events, reminders and the blocks already planned are busy; all-day events are not (a
holiday is marked, not spent). Nothing starts before ``not_before``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from core.calendar import when
from core.calendar.model import Window

QUARTER = timedelta(minutes=15)


class Part(StrEnum):
    MORNING = "morning"
    AFTERNOON = "afternoon"
    EVENING = "evening"
    ANY = "any"


# working hours by part of the day (local): "any" is the working day
HOURS: dict[Part, tuple[time, time]] = {
    Part.MORNING: (time(9), time(12)),
    Part.AFTERNOON: (time(13), time(18)),
    Part.EVENING: (time(18), time(21)),
    Part.ANY: (time(9), time(18)),
}


@dataclass(frozen=True, slots=True)
class Wish:
    what: str
    minutes: int
    part: Part = Part.ANY
    times: int = 1  # how many blocks, on different days


@dataclass(frozen=True, slots=True)
class Block:
    title: str
    start: datetime
    end: datetime


@dataclass(frozen=True, slots=True)
class Plan:
    blocks: tuple[Block, ...]
    unplaced: tuple[str, ...]  # wishes (one per missing block) with no room this week


def _ceil(moment: datetime) -> datetime:
    """Up to the next quarter hour (local wall clock)."""
    extra = (moment.minute % 15) * 60 + moment.second + moment.microsecond / 1e6
    if not extra:
        return moment
    return (moment + timedelta(seconds=15 * 60 - extra)).replace(second=0, microsecond=0)


def _earliest(busy: Sequence[tuple[datetime, datetime]], start: datetime, end: datetime,
              length: timedelta) -> datetime | None:
    cursor = _ceil(start)
    for b_start, b_end in busy:
        if b_end <= cursor or b_start >= end:
            continue
        if b_start - cursor >= length:
            break
        cursor = _ceil(max(cursor, b_end))
    return cursor if cursor + length <= end else None


def _load(busy: Sequence[tuple[datetime, datetime]], day: date, tz: ZoneInfo) -> timedelta:
    start, end = (when.local(day, t, tz) for t in HOURS[Part.ANY])
    return sum((min(e, end) - max(s, start) for s, e in busy if s < end and e > start),
               timedelta())


def plan(wishes: Sequence[Wish], busy: Sequence[tuple[datetime, datetime]], window: Window,
         tz: ZoneInfo, not_before: datetime) -> Plan:
    """Blocks for ``wishes`` in ``window`` around ``busy`` ([start, end) pairs)."""
    taken = sorted(busy)
    first = window.start.astimezone(tz).date()
    last = (window.end.astimezone(tz) - timedelta(microseconds=1)).date()
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    blocks: list[Block] = []
    unplaced: list[str] = []
    order = sorted(range(len(wishes)), key=lambda i: -wishes[i].minutes)  # stable
    for i in order:
        wish = wishes[i]
        length = timedelta(minutes=wish.minutes)
        used: set[date] = set()
        for _ in range(wish.times):
            candidates = sorted((d for d in days if d not in used),
                                key=lambda d: (d.weekday() >= 5, _load(taken, d, tz), d))
            for day in candidates:
                begin, finish = (when.local(day, t, tz) for t in HOURS[wish.part])
                begin = max(begin, not_before.astimezone(tz), window.start)
                finish = min(finish, window.end)
                if finish <= begin:
                    continue
                start = _earliest(taken, begin, finish, length)
                if start is not None:
                    blocks.append(Block(wish.what, start, start + length))
                    taken = sorted([*taken, (start, start + length)])
                    used.add(day)
                    break
            else:
                unplaced.append(wish.what)
    blocks.sort(key=lambda b: (b.start, b.title))
    return Plan(tuple(blocks), tuple(unplaced))
