"""Time in the person's zone: resolving "when", RRULE occurrences, saying it back (pure)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr


class TimeError(ValueError):
    """A time or rule that cannot be used; the message is shown to the model."""


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimeError(f"unknown time zone {name!r}") from None


def resolve_zone(pref: str | None, bot_default: str | None) -> tuple[str, str]:
    """(zone, where it came from): the person's /prefs timezone, the bot's, or UTC."""
    for name, source in ((pref, "your /prefs timezone"), (bot_default, "the bot's time zone")):
        if name:
            try:
                ZoneInfo(name)
            except (ZoneInfoNotFoundError, ValueError):
                continue
            return name, source
    return "UTC", "UTC, as you have no /prefs timezone"


def parse_when(text: str, tz_name: str) -> datetime:
    """An ISO-8601 time as an aware datetime; one without an offset is in the person's zone."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TimeError(
            f"'{text}' is not an ISO-8601 time like 2026-12-05T15:00:00+00:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone(tz_name))
    return value


def _local_naive(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


def check_rule(rule: str) -> str:
    """The RRULE text, normalised ("RRULE:" prefix dropped); TimeError when unusable."""
    body = rule.strip()
    if body.upper().startswith("RRULE:"):
        body = body[6:]
    if not body or "DTSTART" in body.upper() or "\n" in body:
        raise TimeError("repeat must be one RRULE such as FREQ=DAILY or FREQ=WEEKLY;BYDAY=MO")
    try:
        rrulestr(body, dtstart=datetime(2000, 1, 1))
    except (ValueError, TypeError) as err:
        raise TimeError(f"repeat '{rule}' is not a valid RRULE: {err}") from None
    freq = body.upper().split("FREQ=", 1)[-1].split(";", 1)[0]
    if freq in ("SECONDLY", "MINUTELY"):
        raise TimeError("reminders repeat hourly at most")
    return body


def next_occurrence(rule: str, anchor_local: datetime, tz_name: str,
                    after: datetime) -> datetime | None:
    """The first occurrence strictly after ``after`` (aware), in UTC.

    The rule runs on the wall clock of the person's zone from ``anchor_local`` (naive local
    time): a daily 09:00 stays 09:00 local on both sides of a clock change. A local time that
    does not exist on a spring-forward day moves forward by the gap.
    """
    tz = zone(tz_name)
    rule_set = rrulestr(rule, dtstart=anchor_local)
    start = _local_naive(after, tz) - timedelta(hours=3)  # DST folds: look a little back
    candidate = rule_set.after(start, inc=False)
    while candidate is not None:
        moment = candidate.replace(tzinfo=tz).astimezone(UTC)
        if moment > after:
            return moment
        candidate = rule_set.after(candidate, inc=False)
    return None


def say_local(moment: datetime, tz_name: str, now: datetime | None = None) -> str:
    """'Friday 5 December, 15:00 Lisbon time' (with the year when it is not this year)."""
    tz = zone(tz_name)
    local = moment.astimezone(tz)
    place = tz_name.rsplit("/", 1)[-1].replace("_", " ")
    year = "" if now is None or now.astimezone(tz).year == local.year else f" {local.year}"
    return f"{local:%A} {local.day} {local:%B}{year}, {local:%H:%M} {place} time"


def local_day_bounds(day: date, tz_name: str) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar day, in UTC."""
    tz = zone(tz_name)
    start = datetime.combine(day, time(0), tz)
    end = datetime.combine(day + timedelta(days=1), time(0), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


def parse_clock(text: str) -> time:
    """'07:30' or '7:30' as a time of day."""
    hours, sep, minutes = text.strip().partition(":")
    if not sep or not hours.isdigit() or not minutes.isdigit() or len(minutes) != 2:
        raise TimeError("use a time of day like 07:30")
    h, m = int(hours), int(minutes)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise TimeError("use a time of day like 07:30")
    return time(h, m)
