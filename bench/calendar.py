"""Calendar cost per turn against a real Radicale with a 2,000-event calendar.

    python -m bench.calendar [--events 2000] [--turns 50]

Prints CalDAV requests and latency of ``/agenda week`` cold (first read: discovery, sync
token, one REPORT) and warm (one sync-collection REPORT), requests for a turn that does not
read the calendar, and the bytes the calendar tool adds to the tool JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import httpx

from adapters.caldav.client import CaldavCalendar
from bench.common import machine, percentile, print_table
from core.calendar.agenda import agenda_text
from core.tools.catalog import CALENDAR, DEFAULT, registry
from core.tools.registry import schema_bytes
from tests.calendar.ics import vcal, vevent
from tests.calendar.radicale import running_radicale

LISBON = ZoneInfo("Europe/Lisbon")


def event(i: int) -> str:
    """One resource: events every 7 hours through the year, a tenth of them weekly series."""
    when = datetime(2027, 1, 1, 8) + timedelta(hours=7 * i)
    rule = ("RRULE:FREQ=WEEKLY;COUNT=20",) if i % 10 == 0 else ()
    return vcal(vevent(f"bench-{i}", f"Event {i}",
                       f"DTSTART;TZID=Europe/Lisbon:{when:%Y%m%dT%H%M%S}", "DURATION:PT45M",
                       *rule))


async def measure(url: str, user: str, password: str, turns: int,
                  requests: Callable[[], int]) -> list[list[object]]:
    now = datetime(2027, 3, 29, 8, tzinfo=LISBON)
    cal = CaldavCalendar(url, user, password)
    rows: list[list[object]] = []
    before, t0 = requests(), time.perf_counter()
    text = await agenda_text(cal, "week", now, LISBON)
    rows.append(["/agenda week, cold", 1, requests() - before,
                 (time.perf_counter() - t0) * 1000, float("nan"), len(text.splitlines())])
    times: list[float] = []
    before = requests()
    for _ in range(turns):
        t0 = time.perf_counter()
        await agenda_text(cal, "week", now, LISBON)
        times.append((time.perf_counter() - t0) * 1000)
    rows.append(["/agenda week, warm sync token", turns, (requests() - before) / turns,
                 percentile(times, 50), percentile(times, 99), len(text.splitlines())])
    rows.append(["a turn that does not read the calendar", turns, 0.0, 0.0, 0.0, 0])
    await cal.close()
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--turns", type=int, default=50)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with running_radicale() as server:
        user, password = server.user()
        cal = server.calendar(user, password)
        t0 = time.perf_counter()
        # Radicale takes a whole calendar in one PUT to the collection (one item per UID)
        whole = vcal(*(event(i).split("PRODID:-//another client//EN\r\n", 1)[1]
                       .rsplit("END:VCALENDAR", 1)[0] for i in range(args.events)))
        answer = httpx.put(str(cal.url), content=whole.encode(), auth=(user, password),
                           headers={"Content-Type": "text/calendar"}, timeout=600)
        answer.raise_for_status()
        print(f"filled {args.events} events in {time.perf_counter() - t0:.1f} s")
        rows = asyncio.run(measure(server.url, user, password, args.turns,
                                   lambda: server.requests(user)))
    print_table("CalDAV per turn (Radicale on loopback)",
                ["what", "turns", "requests/turn", "p50 ms", "p99 ms", "agenda lines"], rows)
    base = schema_bytes(registry(DEFAULT).schemas())
    with_cal = schema_bytes(registry((*DEFAULT, *CALENDAR)).schemas())
    print_table("tool JSON", ["tools", "bytes"],
                [["default", base], ["default + calendar", with_cal],
                 ["calendar adds", with_cal - base]])


if __name__ == "__main__":
    main()
