"""The pure parts of offers: quiet hours (across midnight and a clock change), the
fingerprint one commitment is known by, when an offered reminder fires, and the drop rules."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.offers.model import (
    Offer,
    OfferKind,
    OfferState,
    drop_reason,
    fingerprint,
    local_when,
    remind_at,
)
from core.offers.quiet import Quiet, parse_quiet, quiet_end, stored_quiet
from core.schedule.times import TimeError

LISBON = ZoneInfo("Europe/Lisbon")
NIGHT = Quiet(time(22), time(7, 30))


def lisbon(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=LISBON)


@pytest.mark.parametrize(("now", "end"), [
    (lisbon(2026, 12, 1, 21, 59), None),
    (lisbon(2026, 12, 1, 22, 0), lisbon(2026, 12, 2, 7, 30)),
    (lisbon(2026, 12, 2, 3, 0), lisbon(2026, 12, 2, 7, 30)),
    (lisbon(2026, 12, 2, 7, 30), None),
    # the night Lisbon moves to summer time (28 March 2027, 01:00 → 02:00)
    (lisbon(2027, 3, 28, 0, 30), lisbon(2027, 3, 28, 7, 30)),
    (lisbon(2027, 3, 28, 7, 29), lisbon(2027, 3, 28, 7, 30)),
])
def test_quiet_end_across_midnight_and_a_clock_change(
        now: datetime, end: datetime | None) -> None:
    found = quiet_end(NIGHT, now.astimezone(UTC), "Europe/Lisbon")
    assert found == (end.astimezone(UTC) if end else None)


def test_a_daytime_span_and_parsing() -> None:
    lunch = parse_quiet("12:00-13:00")
    assert quiet_end(lunch, lisbon(2026, 12, 1, 12, 30).astimezone(UTC), "Europe/Lisbon") \
        == lisbon(2026, 12, 1, 13, 0)
    assert quiet_end(lunch, lisbon(2026, 12, 1, 13, 0).astimezone(UTC), "Europe/Lisbon") \
        is None
    assert str(parse_quiet(" 22:00-7:30 ")) == "22:00-07:30"
    for bad in ("22:00", "22-07", "22:00-22:00", "25:00-07:00"):
        with pytest.raises(TimeError):
            parse_quiet(bad)
    assert stored_quiet("nonsense") is None and stored_quiet(None) is None


def test_one_commitment_one_fingerprint() -> None:
    friday = date(2026, 12, 4)
    assert fingerprint(friday, time(15), "Dentist") == fingerprint(friday, time(15),
                                                                   "Dentist appointment")
    assert fingerprint(friday, None, "Send the report") == \
        fingerprint(friday, None, "send THE report to my sister")
    assert fingerprint(friday, None, "Send the report") != fingerprint(friday, None, "Pay rent")


def _offer(kind: OfferKind, at: time | None) -> Offer:
    return Offer("p", "f", kind, "Dentist", local_when(date(2026, 12, 4), at, "Europe/Lisbon"),
                 at is not None, "kith/test/a", "m1", "r1", OfferState.WAITING,
                 datetime(2026, 12, 1, tzinfo=UTC))


def test_when_the_offered_reminder_fires() -> None:
    three = lisbon(2026, 12, 4, 15, 0)
    assert remind_at(_offer(OfferKind.REMINDER, time(15)), OfferKind.REMINDER,
                     "Europe/Lisbon") == three
    assert remind_at(_offer(OfferKind.EVENT, time(15)), OfferKind.REMINDER,
                     "Europe/Lisbon") == three - timedelta(minutes=30)  # an appointment
    assert remind_at(_offer(OfferKind.EVENT, time(15)), OfferKind.EVENT,
                     "Europe/Lisbon") == three
    assert remind_at(_offer(OfferKind.REMINDER, None), OfferKind.REMINDER,
                     "Europe/Lisbon") == lisbon(2026, 12, 4, 9, 0)  # that morning


def test_drop_rules() -> None:
    now = datetime(2026, 12, 1, 10, tzinfo=UTC)

    def reason(at: datetime = now + timedelta(hours=1), declined: int = 0,
               offered_today: int = 0, has_tool: bool = True) -> str | None:
        return drop_reason(at=at, now=now, declined=declined, offered_today=offered_today,
                           has_tool=has_tool)
    assert reason() is None
    assert reason(at=now) == "past"
    assert reason(declined=2) is None
    assert reason(declined=3) == "declined"
    assert reason(offered_today=2) is None
    assert reason(offered_today=3) == "daily_limit"
    assert reason(has_tool=False) == "no_tool"
