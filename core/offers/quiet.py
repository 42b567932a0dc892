"""Quiet hours (``/prefs quiet 22:00-07:30``): when an offer may be sent. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta

from core.schedule.times import TimeError, parse_clock, zone


@dataclass(frozen=True, slots=True)
class Quiet:
    """A daily span of local time [start, end); it crosses midnight when end <= start."""

    start: time
    end: time

    def __str__(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M}"


def parse_quiet(text: str) -> Quiet:
    """'22:00-07:30' (TimeError otherwise; the same times twice are refused)."""
    start, sep, end = text.strip().partition("-")
    if not sep:
        raise TimeError("use a span of local time like 22:00-07:30")
    quiet = Quiet(parse_clock(start), parse_clock(end))
    if quiet.start == quiet.end:
        raise TimeError("quiet hours need two different times, like 22:00-07:30")
    return quiet


def quiet_end(quiet: Quiet | None, now: datetime, tz_name: str) -> datetime | None:
    """When the quiet period ``now`` falls in ends (UTC), or None when ``now`` is not quiet."""
    if quiet is None:
        return None
    tz = zone(tz_name)
    local = now.astimezone(tz)
    for day in (local.date() - timedelta(days=1), local.date()):
        start = datetime.combine(day, quiet.start, tz)
        end_day = day if quiet.end > quiet.start else day + timedelta(days=1)
        end = datetime.combine(end_day, quiet.end, tz)
        # a wall time skipped or doubled by a clock change still compares in UTC
        if start.astimezone(UTC) <= now < end.astimezone(UTC):
            return end.astimezone(UTC)
    return None


def stored_quiet(value: str | None) -> Quiet | None:
    """The preference as stored; a value that no longer parses means no quiet hours."""
    if not value:
        return None
    try:
        return parse_quiet(value)
    except TimeError:
        return None
