"""A calendar server that refuses a write (issue #25 test 6, the 412 and 507 cases): a real
Radicale behind a small proxy that answers PUT with the injected status. The person gets one
clear line, nothing crashes, and nothing half-written is left on the calendar."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from zoneinfo import ZoneInfo

import httpx
import pytest

from adapters.caldav.client import CaldavCalendar
from core.calendar.model import CalendarError, NewEvent
from tests.calendar.ics import STANDUP
from tests.calendar.radicale import Radicale

LISBON = ZoneInfo("Europe/Lisbon")


class Refusing:
    """Forwards every request to Radicale, except that PUT gets ``status`` (when set)."""

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream.rstrip("/")
        self.status: int | None = None
        self.refused = 0
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def _any(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                if self.command == "PUT" and outer.status is not None:
                    outer.refused += 1
                    self.send_response(outer.status)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                headers = {k: v for k, v in self.headers.items()
                           if k.lower() not in ("host", "content-length", "connection")}
                answer = httpx.request(self.command, outer.upstream + self.path,
                                       headers=headers, content=body, timeout=60)
                self.send_response(answer.status_code)
                for key, value in answer.headers.items():
                    if key.lower() not in ("content-length", "transfer-encoding", "connection",
                                           "content-encoding"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(answer.content)))
                self.end_headers()
                self.wfile.write(answer.content)

            do_GET = do_PUT = do_DELETE = do_PROPFIND = do_REPORT = do_OPTIONS = _any
            do_MKCALENDAR = do_PROPPATCH = do_HEAD = do_POST = _any

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/"


@pytest.fixture
def refusing(radicale: Radicale) -> Iterator[Refusing]:
    proxy = Refusing(radicale.url)
    thread = threading.Thread(target=proxy.server.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.server.shutdown()
    proxy.server.server_close()
    thread.join(10)


def uids(radicale: Radicale, user: str, password: str) -> list[str]:
    return [str(obj.icalendar_component["UID"])
            for obj in radicale.calendar(user, password).events()]


@pytest.mark.parametrize("status", [507, 412])
async def test_a_refused_create_says_one_line_and_leaves_nothing(
        radicale: Radicale, refusing: Refusing, status: int) -> None:
    user, password = radicale.user()
    radicale.calendar(user, password).save_event(STANDUP)
    cal = CaldavCalendar(refusing.url, user, password)
    start = datetime(2027, 4, 2, 10, tzinfo=LISBON)
    refusing.status = status
    try:
        with pytest.raises(CalendarError) as raised:
            await cal.create(NewEvent("Call", start, start.replace(hour=11)),
                             "kith-00112233445566778899aabbccddeeff", LISBON)
    finally:
        await cal.close()
    said = str(raised.value)
    assert said and "\n" not in said and password not in said
    assert "nothing was changed" in said
    if status == 507:
        assert "out of space" in said
    assert refusing.refused >= 1
    assert uids(radicale, user, password) == ["standup-1"]  # nothing half-written


async def test_a_refused_move_says_one_line_and_keeps_the_event(
        radicale: Radicale, refusing: Refusing) -> None:
    user, password = radicale.user()
    radicale.calendar(user, password).save_event(STANDUP)
    before = radicale.calendar(user, password).event_by_uid("standup-1").data
    cal = CaldavCalendar(refusing.url, user, password)
    refusing.status = 412  # the event changed under us (If-Match failed)
    try:
        with pytest.raises(CalendarError) as raised:
            await cal.move("standup-1", datetime(2027, 4, 6, 10, tzinfo=LISBON), None, LISBON)
    finally:
        await cal.close()
    said = str(raised.value)
    assert said and "\n" not in said and password not in said
    assert radicale.calendar(user, password).event_by_uid("standup-1").data == before
