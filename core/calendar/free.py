"""Free time between events (pure): the gaps of at least a duration, within hours of a day."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from core.calendar.model import Event, Window


def free_slots(events: Sequence[Event], window: Window, tz: ZoneInfo, duration: timedelta,
               day_start: time = time(9), day_end: time = time(18),
               not_before: datetime | None = None) -> list[Window]:
    """Gaps of at least ``duration`` between ``day_start`` and ``day_end`` on each local day
    of ``window``, after ``not_before``. All-day events do not block time (a holiday or a
    birthday is marked, not spent); timed events do, also when they span midnight."""
    busy = sorted((e.start, e.end) for e in events if not e.all_day)
    slots: list[Window] = []
    day = window.start.astimezone(tz).date()
    last = (window.end.astimezone(tz) - timedelta(microseconds=1)).date()
    while day <= last:
        cursor = max(datetime.combine(day, day_start, tz), window.start)
        end = min(datetime.combine(day, day_end, tz), window.end)
        if not_before is not None:
            cursor = max(cursor, not_before)
        for start, stop in busy:
            if stop <= cursor or start >= end:
                continue
            if start - cursor >= duration:
                slots.append(Window(cursor, start))
            cursor = max(cursor, stop)
        if end - cursor >= duration:
            slots.append(Window(cursor, end))
        day += timedelta(days=1)
    return slots


def say_slots(slots: Sequence[Window], tz: ZoneInfo) -> str:
    if not slots:
        return "No free time of that length then."
    lines = []
    for slot in slots:
        start, end = slot.start.astimezone(tz), slot.end.astimezone(tz)
        lines.append(f"{start:%a} {start.day} {start:%b} {start:%H:%M}–{end:%H:%M}")
    return "Free:\n" + "\n".join(lines)
