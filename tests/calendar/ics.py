"""iCalendar resources as other clients write them (one VCALENDAR each)."""

from __future__ import annotations


def vcal(*events: str) -> str:
    body = "".join(events)
    head = "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//another client//EN\r\n"
    return f"{head}{body}END:VCALENDAR\r\n"


def vevent(uid: str, summary: str, *lines: str) -> str:
    rest = "".join(f"{line}\r\n" for line in lines)
    return (f"BEGIN:VEVENT\r\nUID:{uid}\r\nDTSTAMP:20260101T000000Z\r\nSUMMARY:{summary}\r\n"
            f"{rest}END:VEVENT\r\n")


# Weekly at 09:00 Lisbon wall time from February to November 2027: Lisbon moves to summer
# time on 28 March and back on 31 October. 15 March is excluded; the 22 March occurrence
# was moved to Tuesday 23 March at 14:00.
STANDUP = vcal(
    vevent("standup-1", "Standup",
           "DTSTART;TZID=Europe/Lisbon:20270301T090000",
           "DTEND;TZID=Europe/Lisbon:20270301T093000",
           "RRULE:FREQ=WEEKLY;UNTIL=20271130T000000Z",
           "EXDATE;TZID=Europe/Lisbon:20270315T090000"),
    vevent("standup-1", "Standup (moved)",
           "RECURRENCE-ID;TZID=Europe/Lisbon:20270322T090000",
           "DTSTART;TZID=Europe/Lisbon:20270323T140000",
           "DTEND;TZID=Europe/Lisbon:20270323T143000"),
)
CONFERENCE = vcal(vevent("conf-1", "Conference", "DTSTART;VALUE=DATE:20270329",
                         "DTEND;VALUE=DATE:20270331", "LOCATION:Porto"))
NEW_YORK = vcal(vevent("ny-1", "Call with NY",
                       "DTSTART;TZID=America/New_York:20270329T100000",
                       "DTEND;TZID=America/New_York:20270329T110000"))
FLOATING = vcal(vevent("float-1", "Lunch", "DTSTART:20270330T130000",
                       "DURATION:PT1H"))
OVERNIGHT = vcal(vevent("night-1", "Night train",
                        "DTSTART;TZID=Europe/Lisbon:20270330T223000",
                        "DTEND;TZID=Europe/Lisbon:20270331T070000"))
