"""Calendar cost per turn against a real Radicale with a 2,000-event calendar.

    python -m bench.calendar [--events 2000] [--turns 50]

Prints, for ``/agenda week`` read as a turn reads it (one round per turn): CalDAV requests
and latency cold (discovery, tags, one REPORT), warm (one getctag PROPFIND) and after
another client changed one event (PROPFIND, sync REPORT, one GET), with Radicale's own time
for the PROPFIND alone; then whole turns through a real core (strict fake model, instant):
requests, model calls and latency of a turn that does not need the calendar, an agenda tool
turn, and "plan my week" (the plan, then the yes); and the tool JSON the calendar adds.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx

from adapters.caldav.cache import GetCTag
from adapters.caldav.client import CaldavCalendar
from bench.common import machine, percentile, print_table
from core.calendar.agenda import agenda_text
from core.calendar.turn import OneRound
from core.tools.catalog import CALENDAR, DEFAULT, registry
from core.tools.registry import schema_bytes
from core.tools.selection import Selector
from tests.calendar.crash_calendar import Owner
from tests.calendar.ics import vcal, vevent
from tests.calendar.radicale import Radicale, running_radicale
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM, running_fake_llm

LISBON = ZoneInfo("Europe/Lisbon")
NOW = datetime(2027, 3, 29, 8, tzinfo=LISBON)
CTAG = (b'<?xml version="1.0"?><d:propfind xmlns:d="DAV:" xmlns:cs="http://calendarserver.org/'
        b'ns/"><d:prop><cs:getctag/></d:prop></d:propfind>')
WISHES = [{"what": "Write report", "duration_minutes": 120, "preferred": "morning"},
          {"what": "Gym", "duration_minutes": 60, "preferred": "evening", "times": 3},
          {"what": "Call the bank", "duration_minutes": 30}]


def event(i: int) -> str:
    """One resource: events every 7 hours through the year, a tenth of them weekly series."""
    when = datetime(2027, 1, 1, 8) + timedelta(hours=7 * i)
    rule = ("RRULE:FREQ=WEEKLY;COUNT=20",) if i % 10 == 0 else ()
    return vcal(vevent(f"bench-{i}", f"Event {i}",
                       f"DTSTART;TZID=Europe/Lisbon:{when:%Y%m%dT%H%M%S}", "DURATION:PT45M",
                       *rule))


def _ms(since: float) -> float:
    return (time.perf_counter() - since) * 1000


async def reads(server: Radicale, user: str, password: str, url: str, turns: int
                ) -> list[list[object]]:
    cal = CaldavCalendar(server.url, user, password, timeout=60)  # a cold read is long
    rows: list[list[object]] = []
    before, t0 = server.requests(user), time.perf_counter()
    await agenda_text(OneRound(cal), "week", NOW, LISBON)
    rows.append(["/agenda week, cold", 1, server.requests(user) - before, _ms(t0),
                 float("nan")])
    times: list[float] = []
    before = server.requests(user)
    for _ in range(turns):
        t0 = time.perf_counter()
        await agenda_text(OneRound(cal), "week", NOW, LISBON)
        times.append(_ms(t0))
    rows.append(["/agenda week, warm (nothing changed)", turns,
                 (server.requests(user) - before) / turns, percentile(times, 50),
                 percentile(times, 99)])
    async with httpx.AsyncClient(auth=(user, password), timeout=60) as http:
        times, kiths = [], 0
        for i in range(min(turns, 20)):  # another client adds one event, then a turn reads
            added = vcal(vevent(f"added-{i}", f"Added {i}",
                                "DTSTART;TZID=Europe/Lisbon:20270330T120000",
                                "DURATION:PT30M"))
            answer = await http.put(f"{url}added-{i}.ics", content=added.encode(),
                                    headers={"Content-Type": "text/calendar"})
            answer.raise_for_status()
            before = server.requests(user)
            t0 = time.perf_counter()
            text = await agenda_text(OneRound(cal), "week", NOW, LISBON)
            times.append(_ms(t0))
            kiths += server.requests(user) - before
            assert f"Added {i}" in text
        rows.append(["/agenda week, one event added elsewhere", len(times),
                     kiths / len(times), percentile(times, 50), percentile(times, 99)])
        times = []
        for _ in range(turns):  # Radicale's own answer to the one warm request
            t0 = time.perf_counter()
            answer = await http.request("PROPFIND", url, content=CTAG, headers={"Depth": "0"})
            times.append(_ms(t0))
            assert GetCTag.tag and answer.status_code == 207
        rows.append(["  of which Radicale: the getctag PROPFIND alone", turns, 1.0,
                     percentile(times, 50), percentile(times, 99)])
    await cal.close()
    return rows


async def turns(server: Radicale, user: str, password: str, count: int) -> list[list[object]]:
    """Whole turns through a real core (SQLite, agent, tool loop) with an instant model."""
    fake = FakeLLM(strict=True)
    cal = CaldavCalendar(server.url, user, password, timeout=60)
    rows: list[list[object]] = []
    with tempfile.TemporaryDirectory() as tmp:
        async with running_fake_llm(fake):
            assert fake.base_url
            async with tool_core(Path(tmp) / "kith.db", fake.base_url, now=NOW,
                                 tools=(*DEFAULT, *CALENDAR), calendars=Owner(cal)) as core:
                await core.send(message("a", 0, "/agenda"))  # warm the cache
                n = 1

                async def measure(what: str, script: list[object], text: str, times: int,
                                  chat: str = "") -> list[float]:
                    nonlocal n
                    before, calls, took = server.requests(user), len(fake.chat_requests), []
                    for _ in range(times):
                        for step in script:
                            if isinstance(step, tuple):
                                fake.script_tool_call(*step)
                            else:
                                fake.script([str(step)])
                        t0 = time.perf_counter()
                        # a conversation per measured turn: a long one would be summarised
                        # by the model in the background, and the script is strict
                        await core.send(message(chat or f"c{n}", n, text))
                        took.append(_ms(t0))
                        n += 1
                    rows.append([what, times, (server.requests(user) - before) / times,
                                 (len(fake.chat_requests) - calls) / times,
                                 percentile(took, 50), percentile(took, 99)])
                    return took

                await measure("a turn without the calendar", ["Hello!"], "hello", count)
                await measure("an agenda tool turn (week)",
                              [("agenda", {"span": "week"}), "A busy week."],
                              "what's my week like?", count)
                await measure("plan my week: the proposal",
                              [("plan_week", {"wishes": WISHES}), "Here is a plan."],
                              "plan my week", 1, chat="p")
                await measure("plan my week: the yes (creates 5 events)", [], "yes", 1,
                              chat="p")
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
        # Radicale's file storage keeps one .ics file per item in the collection's folder:
        # written there directly (uploading 2,000 items through Radicale took 10 minutes on
        # a loaded box); Radicale builds its item cache at the first request, timed here
        folder = server.root / "store" / "collection-root" / Path(cal.url.path.strip("/"))
        for i in range(args.events):
            (folder / f"bench-{i}.ics").write_text(event(i), newline="")
        first = time.perf_counter()
        answer = httpx.request("PROPFIND", str(cal.url), content=CTAG, auth=(user, password),
                               headers={"Depth": "0"}, timeout=900)
        assert answer.status_code == 207, answer.status_code
        print(f"filled {args.events} events in {first - t0:.1f} s; Radicale's first look at "
              f"them (its item cache) took {time.perf_counter() - first:.1f} s")
        rows = asyncio.run(reads(server, user, password, str(cal.url), args.turns))
        print_table(f"CalDAV per turn (Radicale on loopback, {args.events} events)",
                    ["what", "turns", "requests/turn", "p50 ms", "p99 ms"], rows)
        turn_rows = asyncio.run(turns(server, user, password, min(args.turns, 20)))
    print_table("whole turns through a real core (instant fake model)",
                ["what", "turns", "CalDAV requests/turn", "model calls/message", "p50 ms",
                 "p99 ms"], turn_rows)
    base = schema_bytes(registry(DEFAULT).schemas())
    every = registry((*DEFAULT, *CALENDAR))
    with_cal = schema_bytes(every.schemas())
    offered = schema_bytes(Selector().offer("bench", every, "plan my week please").schemas())
    print_table("tool JSON", ["tools", "bytes"],
                [["default", base], ["default + calendar", with_cal],
                 ["calendar adds", with_cal - base],
                 ["offered for 'plan my week please' (selection, budget 2,500)", offered]])


if __name__ == "__main__":
    main()
