"""Events expanded and said in the person's zone: series across DST, all-day, other zones."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from core.calendar.agenda import render, window_for
from core.calendar.expand import Resource, expand, in_window
from core.calendar.free import free_slots, say_slots
from core.calendar.model import Event, Window
from tests.calendar.ics import CONFERENCE, FLOATING, NEW_YORK, OVERNIGHT, STANDUP, vcal, vevent

LISBON = ZoneInfo("Europe/Lisbon")


def month(year: int, month: int, tz: ZoneInfo = LISBON) -> Window:
    start = datetime(year, month, 1, tzinfo=tz)
    end = (start + timedelta(days=32)).replace(day=1)
    return Window(start, end)


@pytest.mark.parametrize("when", [(2027, 3), (2027, 4), (2027, 10), (2027, 11)])
def test_a_weekly_series_stays_at_nine_across_both_dst_changes(when: tuple[int, int]) -> None:
    events = [e for e in expand([STANDUP], month(*when), LISBON) if e.title == "Standup"]
    assert events, when
    for event in events:
        local = event.start.astimezone(LISBON)
        assert (local.hour, local.minute, local.weekday()) == (9, 0, 0), event
        assert event.end - event.start == timedelta(minutes=30)
        assert event.recurring


def test_the_utc_offset_changes_under_the_series_but_not_the_wall_time() -> None:
    march = expand([STANDUP], month(2027, 3), LISBON)
    offsets = {e.start.date().isoformat(): e.start.utcoffset() for e in march}
    assert offsets["2027-03-08"] == timedelta(0)
    assert offsets["2027-03-29"] == timedelta(hours=1)


def test_exdate_removes_and_an_override_moves_one_occurrence() -> None:
    march = expand([STANDUP], month(2027, 3), LISBON)
    days = [(e.start.astimezone(LISBON).strftime("%d %H:%M"), e.title) for e in march]
    assert ("15 09:00", "Standup") not in days
    assert ("22 09:00", "Standup") not in days
    assert ("23 14:00", "Standup (moved)") in days
    assert ("29 09:00", "Standup") in days


def test_an_event_in_another_zone_is_said_in_the_persons_zone() -> None:
    (call,) = expand([NEW_YORK], month(2027, 3), LISBON)
    assert call.start.astimezone(LISBON).strftime("%d %H:%M") == "29 15:00"
    (same,) = expand([NEW_YORK], month(2027, 3, ZoneInfo("Asia/Tokyo")), ZoneInfo("Asia/Tokyo"))
    assert same.start.strftime("%d %H:%M") == "29 23:00"


def test_all_day_multi_day_floating_and_overnight_events_on_the_agenda() -> None:
    window = window_for("2027-03-29", datetime(2027, 3, 29, 8, tzinfo=LISBON), LISBON, days=3)
    events = expand([STANDUP, CONFERENCE, NEW_YORK, FLOATING, OVERNIGHT], window, LISBON)
    text = render(events, window, LISBON)
    assert text.splitlines() == [
        "Mon 29 Mar",
        "  all day  Conference (Porto), until Tue 30 Mar",
        "  09:00–09:30  Standup",
        "  15:00–16:00  Call with NY",
        "Tue 30 Mar",
        "  all day  Conference (Porto), continued",
        "  13:00–14:00  Lunch",
        "  22:30–Wed 31 Mar 07:00  Night train",
        "Wed 31 Mar",
        "     …–07:00  Night train",
    ]


def test_an_empty_window_says_so_and_a_resource_that_does_not_parse_is_skipped() -> None:
    window = window_for("2027-03-29", datetime(2027, 3, 29, tzinfo=LISBON), LISBON)
    broken = "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nDTSTART:garbage\r\nEND:VCALENDAR"
    no_start = vcal(vevent("x", "No start"))
    assert expand([broken, no_start], window, LISBON) == []
    assert render([], window, LISBON) == "Nothing on your calendar on Mon 29 Mar."
    events = expand([broken, CONFERENCE], window, LISBON)
    assert [e.title for e in events] == ["Conference"]


def test_window_words() -> None:
    now = datetime(2027, 3, 27, 23, 30, tzinfo=LISBON)  # the night before the DST change
    today = window_for("today", now, LISBON)
    assert (today.start.hour, today.end - today.start) == (0, timedelta(hours=24))
    tomorrow = window_for("tomorrow", now, LISBON)  # 28 March has 23 hours in Lisbon
    assert tomorrow.end.astimezone(UTC) - tomorrow.start.astimezone(UTC) == timedelta(hours=23)
    week = window_for("week", now, LISBON)
    assert (week.end.astimezone(LISBON) - timedelta(days=7)).date() == now.date()
    with pytest.raises(ValueError, match="not today, tomorrow, week or a date"):
        window_for("next fortnight", now, LISBON)
    with pytest.raises(ValueError, match="days must be"):
        window_for("today", now, LISBON, days=90)


def test_the_span_filter_never_drops_an_event_expansion_would_find() -> None:
    """Resources are skipped by their span before expansion; across windows around every
    fixture (DST, all-day, floating, other zones, series with UNTIL), the result is the
    same as expanding everything."""
    texts = [STANDUP, CONFERENCE, NEW_YORK, FLOATING, OVERNIGHT,
             vcal(vevent("forever", "Weekly", "DTSTART;TZID=Asia/Tokyo:20260105T080000",
                         "DURATION:PT1H", "RRULE:FREQ=WEEKLY;COUNT=200")),
             vcal(vevent("rdate", "Odd", "DTSTART:20270101T120000Z",
                         "RDATE:20271225T120000Z"))]
    resources = [r for r in (Resource.parse(t) for t in texts) if r is not None]
    for tz in (LISBON, ZoneInfo("Pacific/Kiritimati"), ZoneInfo("Pacific/Pago_Pago")):
        day = datetime(2026, 12, 20, tzinfo=tz)
        while day < datetime(2028, 1, 10, tzinfo=tz):
            window = Window(day, day + timedelta(days=3))
            filtered = in_window(resources, window, tz)
            everything = sorted(
                (e for t in texts for e in _unfiltered(t, window, tz)),
                key=lambda e: (e.start, not e.all_day, e.title))
            assert filtered == everything, (tz, day)
            day += timedelta(days=5)


def _unfiltered(text: str, window: Window, tz: ZoneInfo) -> list[Event]:
    resource = Resource.parse(text)
    assert resource is not None
    return in_window([replace(resource, first=window.start - timedelta(days=1), last=None)],
                     window, tz)


def test_free_time_between_events_within_working_hours() -> None:
    window = window_for("2027-03-29", datetime(2027, 3, 29, 7, tzinfo=LISBON), LISBON, days=2)
    events = expand([STANDUP, CONFERENCE, NEW_YORK, FLOATING, OVERNIGHT], window, LISBON)
    slots = free_slots(events, window, LISBON, timedelta(hours=1))
    assert say_slots(slots, LISBON).splitlines() == [
        "Free:",
        "Mon 29 Mar 09:30–15:00",  # the conference is all-day: marked, not blocking
        "Mon 29 Mar 16:00–18:00",
        "Tue 30 Mar 09:00–13:00",
        "Tue 30 Mar 14:00–18:00",
    ]
    later = free_slots(events, window, LISBON, timedelta(hours=2), time(8), time(20),
                       not_before=datetime(2027, 3, 29, 12, 10, tzinfo=LISBON))
    assert [(s.start.strftime("%d %H:%M"), s.end.strftime("%H:%M")) for s in later] == [
        ("29 12:10", "15:00"), ("29 16:00", "20:00"), ("30 08:00", "13:00"),
        ("30 14:00", "20:00")]
    assert say_slots([], LISBON) == "No free time of that length then."
