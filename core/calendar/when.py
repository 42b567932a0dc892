"""A local date and time as a small model writes them, read in a zone (pure)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

_CLOCK = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*(am|pm)?\s*$", re.I)


def day(value: str) -> date:
    try:
        return date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"'{value}' is not a date like 2027-03-29") from None


def clock(value: str) -> time:
    match = _CLOCK.match(value)
    if not match:
        raise ValueError(f"'{value}' is not a time like 15:30")
    hour, minute = int(match[1]), int(match[2] or 0)
    if match[3]:
        if not 1 <= hour <= 12:
            raise ValueError(f"'{value}' is not a time like 3:30 pm")
        hour = hour % 12 + (12 if match[3].lower() == "pm" else 0)
    if hour > 23 or minute > 59:
        raise ValueError(f"'{value}' is not a time of day")
    return time(hour, minute)


def local(on: date, at: time, tz: ZoneInfo) -> datetime:
    """``at`` on ``on`` in ``tz``; a time skipped by a clock change moves forward with it."""
    naive = datetime.combine(on, at)
    aware = naive.replace(tzinfo=tz)
    real = aware.astimezone(UTC).astimezone(tz)  # normalised: nonexistent → after the gap
    return real if real.replace(tzinfo=None) == naive else aware + timedelta(0)


def say(moment: datetime, tz: ZoneInfo) -> str:
    local_moment = moment.astimezone(tz)
    return f"{local_moment:%a} {local_moment.day} {local_moment:%b} {local_moment:%H:%M}"
