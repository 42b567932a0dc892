"""A reminder's time as a small model can give it, turned into a moment and an RRULE (pure).

The model passes what the person said: a local date and wall-clock time (or "in N minutes"),
optionally a zone when the person named another place, and repetition as plain fields
(``daily`` / ``weekly`` on some days / ``monthly`` / ``yearly``, until a date). Kith does the
arithmetic: offsets, daylight saving and RRULE syntax never pass through the model. Errors
are short sentences a model can act on and a person can read.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta

from core.schedule.times import TimeError, check_rule, next_occurrence, parse_when, zone

FREQS = {"hourly": "HOURLY", "daily": "DAILY", "weekly": "WEEKLY", "monthly": "MONTHLY",
         "yearly": "YEARLY", "every day": "DAILY", "every week": "WEEKLY",
         "every month": "MONTHLY", "every year": "YEARLY", "day": "DAILY", "week": "WEEKLY",
         "month": "MONTHLY", "year": "YEARLY", "weekdays": "WEEKLY"}
ONCE = {"", "never", "none", "no", "once", "one-off", "false", "null"}  # no repeat
DAYS = {"mo": "MO", "tu": "TU", "we": "WE", "th": "TH", "fr": "FR", "sa": "SA", "su": "SU"}
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")


@dataclass(frozen=True, slots=True)
class Asked:
    date: str = ""
    time: str = ""
    in_minutes: int | None = None
    zone: str = ""
    repeat: str = ""
    days: tuple[str, ...] = ()
    until: str = ""
    when: str = ""  # an ISO 8601 time, the older form


@dataclass(frozen=True, slots=True)
class Resolved:
    due: datetime  # aware, UTC: the first time it fires
    rule: str | None
    anchor: datetime  # naive wall-clock time in ``zone`` the rule repeats from
    zone: str


def _clock(text: str) -> time:
    raw = text.strip().lower().replace(".", ":").replace(" ", "")
    suffix = ""
    for end in ("am", "pm"):
        if raw.endswith(end):
            raw, suffix = raw[: -len(end)], end
    hours, _, minutes = raw.partition(":")
    minutes = minutes[:2] or "00"
    if not hours.isdigit() or not minutes.isdigit():
        raise TimeError(f"the time '{text}' should be written like 15:00")
    h, m = int(hours), int(minutes)
    if suffix:
        if not 1 <= h <= 12:
            raise TimeError(f"the time '{text}' should be written like 15:00")
        h = h % 12 + (12 if suffix == "pm" else 0)
    if not (0 <= h < 24 and 0 <= m < 60):
        raise TimeError(f"the time '{text}' should be written like 15:00")
    return time(h, m)


def _date(text: str, what: str) -> date:
    try:
        return date.fromisoformat(text.strip()[:10])
    except ValueError:
        raise TimeError(f"the {what} '{text}' should be written like 2026-12-24") from None


def _fold(text: str) -> str:
    return " ".join(unicodedata.normalize("NFKC", text).casefold().split())


def backed(quote: str, message: str, about: str = "") -> bool:
    """The quote is a short piece of the person's own words: found in their message, whatever
    the language (case, width and spacing aside; surrounding quote marks and punctuation
    dropped), at most half of it (a small model copies the whole request), and not what the
    reminder is about (``about``: its text; a small model copies that too)."""
    words = _fold(quote).strip(" \t\"'`.,;:!?\u201c\u201d\u2018\u2019\u00ab\u00bb\u300c\u300d")
    said, text = _fold(message), _fold(about)
    if len(words) < 2 or words not in said or len(words) > max(20, len(said) // 2):
        return False
    return not text or (text not in words and words not in text)


def one_off_unless_said(asked: Asked, quote: str, message: str, about: str = "") -> Asked:
    """A repeat stands only when backed by the person's words (see :func:`backed`): small
    models fill repeat fields on one-off requests. Days then still say which day, once."""
    if asked.repeat.strip().lower() in ONCE or backed(quote, message, about):
        return asked
    return replace(asked, repeat="", until="")


def _days(names: tuple[str, ...], repeat: str) -> list[str]:
    if repeat.strip().lower() == "weekdays":
        return list(WEEKDAYS[:5])
    out: list[str] = []
    for name in names:
        code = DAYS.get(name.strip().lower()[:2])
        if code is None:
            raise TimeError(f"'{name}' is not a day of the week; use names like monday")
        if code not in out:
            out.append(code)
    return sorted(out, key=WEEKDAYS.index)


def _rule(asked: Asked, anchor: datetime) -> str | None:
    repeat = asked.repeat.strip()
    if "FREQ=" in repeat.upper():  # an RRULE already (the older form)
        return check_rule(repeat)
    days = _days(asked.days, repeat)
    if repeat.lower() in ONCE:  # days alone say which day, once: a repeat must be asked for
        return None  # and an end date alone ends nothing (small models fill it anyway)
    freq = FREQS.get(repeat.lower())
    if freq is None:
        raise TimeError(f"repeat '{repeat}' should be daily, weekly, monthly or yearly")
    parts = [f"FREQ={freq}"]
    if days:
        if freq not in ("WEEKLY", "DAILY"):
            raise TimeError("days go with a weekly repeat")
        parts = ["FREQ=WEEKLY", "BYDAY=" + ",".join(days)]
    if asked.until.strip():
        last = _date(asked.until, "until date")
        if last < anchor.date():
            raise TimeError(f"until {last.isoformat()} is before the first reminder")
        if last == anchor.date() and freq != "HOURLY":
            return None  # a repeat that ends the day it starts is once
        parts.append(f"UNTIL={last:%Y%m%d}T235959")
    return ";".join(parts)


_OFFSET = re.compile(r"^(?:UTC|GMT|Z)?\s*(?:([+-])(\d{1,2})(?::?(\d{2}))?)?$", re.IGNORECASE)


def zone_name(text: str, person_zone: str, now: datetime) -> str:
    """An IANA zone for what the model passed: a zone name, or an offset such as the
    ``UTC+01:00`` it read in the prompt — the person's own zone when it is their current
    offset (so daylight saving still applies), else a fixed whole-hour ``Etc/GMT`` zone."""
    text = text.strip()
    found = _OFFSET.match(text) if text else None
    if not text or found is None:
        return text or person_zone
    sign, hours, minutes = found.group(1), int(found.group(2) or 0), int(found.group(3) or 0)
    offset = timedelta(hours=hours, minutes=minutes) * (-1 if sign == "-" else 1)
    if now.astimezone(zone(person_zone)).utcoffset() == offset:
        return person_zone
    if minutes or hours > 14:
        raise TimeError(f"use a place's zone name like Asia/Kolkata instead of '{text}'")
    return "UTC" if not hours else f"Etc/GMT{'-' if offset > timedelta(0) else '+'}{hours}"


def resolve(asked: Asked, person_zone: str, now: datetime) -> Resolved:
    """The first due moment, the rule and its local anchor; :class:`TimeError` if unusable."""
    tz_name = zone_name(asked.zone, person_zone, now)
    tz = zone(tz_name)
    local_now = now.astimezone(tz).replace(tzinfo=None)
    if asked.in_minutes is not None:
        if asked.in_minutes < 1:
            raise TimeError("in_minutes must be 1 or more")
        due = now + timedelta(minutes=asked.in_minutes)
        anchor = due.astimezone(tz).replace(tzinfo=None, second=0, microsecond=0)
    elif asked.time.strip():
        at = _clock(asked.time)
        if asked.date.strip():
            anchor = datetime.combine(_date(asked.date, "date"), at)
        else:  # today if still ahead, else the next day (or the next of the days named)
            anchor = datetime.combine(local_now.date(), at)
            wanted = {WEEKDAYS.index(d) for d in _days(asked.days, asked.repeat)}
            if asked.repeat.strip().lower() in ONCE:
                while anchor <= local_now or (wanted and anchor.weekday() not in wanted):
                    anchor += timedelta(days=1)
        due = anchor.replace(tzinfo=tz).astimezone(UTC)
    elif asked.when.strip():
        due = parse_when(asked.when, tz_name).astimezone(UTC)
        anchor = due.astimezone(tz).replace(tzinfo=None)
    elif asked.date.strip():
        raise TimeError("a time of day is missing, like 09:00")
    else:
        raise TimeError("give time (like 15:00, with date like 2026-12-24 when not today) "
                        "or in_minutes")
    return Resolved(due, _rule(asked, anchor), anchor, tz_name)


def first_due(found: Resolved, now: datetime) -> datetime:
    """When it first fires: the asked time, or for a rule its first occurrence from the
    asked time on that is not already past."""
    if found.rule is None:
        return found.due
    after = max(found.due, now) - timedelta(seconds=1)
    first = next_occurrence(found.rule, found.anchor, found.zone, after)
    if first is None:
        raise TimeError("that repeat never happens after the first time")
    return first
