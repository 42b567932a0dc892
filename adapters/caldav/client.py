"""One CalDAV account's events, kept in a cache (:mod:`adapters.caldav.cache`) that one
cheap request per calendar checks.

The first read finds the calendars (principal → home set) and loads every event with one
``calendar-query`` REPORT per calendar; later reads ask each calendar's ``getctag`` and sync
only what changed (RFC 6578). Expansion of series happens locally
(:mod:`core.calendar.expand`), so the window asked for never costs a request. Errors become
one line for the person; the password never appears in them.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from caldav import aio
from caldav.lib import error as dav_error

from adapters.caldav.cache import CachedCalendar, href_of
from core.calendar import ical
from core.calendar.expand import Resource
from core.calendar.model import CalendarError, Event, NewEvent, Window
from core.logging import get_logger

log = get_logger("kith.caldav")
VERIFY_TIMEOUT = 10.0  # seconds for the PROPFIND that checks a person's credentials


def _explain(err: BaseException) -> CalendarError:
    """One line for the person; never the password (it is in no field read here)."""
    if isinstance(err, dav_error.AuthorizationError):
        return CalendarError("The calendar server refused the login (check the calendar's "
                             "username and password).")
    if isinstance(err, TimeoutError) or "timeout" in type(err).__name__.lower():
        return CalendarError("The calendar server didn't answer in time; try again shortly.")
    if isinstance(err, dav_error.ETagMismatchError):
        return CalendarError("The event was changed elsewhere just now; look at it again "
                             "and tell me what to change.")
    if isinstance(err, dav_error.PutError | dav_error.DeleteError):
        status = getattr(err, "status", None) or ""
        if "507" in str(status) or "507" in str(err):
            return CalendarError("The calendar server is out of space (507): nothing was "
                                 "changed.")
        return CalendarError("The calendar server refused the change; nothing was changed.")
    if isinstance(err, dav_error.NotFoundError):
        return CalendarError("The calendar server has no calendar at the configured address.")
    if isinstance(err, dav_error.DAVError):
        return CalendarError("The calendar server answered with an error; try again later.")
    return CalendarError("I can't reach the calendar server right now; try again later.")


class CaldavCalendar:
    """A :class:`core.calendar.model.CalendarReader` over one CalDAV account."""

    def __init__(self, url: str, username: str, password: str,
                 names: Sequence[str] | None = None, timeout: float = 10.0) -> None:
        # one refresh (discovery, then one REPORT per calendar) is bounded as a whole
        self._url = url
        self._username = username
        self._password = password
        self._names = list(names) if names else None
        self._timeout = timeout
        self._client: aio.AsyncDAVClient | None = None
        self._collections: list[CachedCalendar] | None = None
        self._lock = asyncio.Lock()
        self.last_read: datetime | None = None  # the last refresh that succeeded

    async def events(self, window: Window, tz: ZoneInfo, *, refresh: bool = True
                     ) -> list[Event]:
        """``refresh``: check the server first (False: this turn checked already)."""
        async with self._lock:
            try:
                if refresh or self._collections is None:
                    await asyncio.wait_for(self._refresh(), timeout=self._timeout * 3)
                    self.last_read = datetime.now(UTC)
            except CalendarError:
                raise
            except Exception as err:
                await self._reset()
                log.warning("calendar_unavailable", error=type(err).__name__)
                raise _explain(err) from None
            collections = list(self._collections or ())
        found: list[Event] = []
        for col in collections:
            found.extend(col.events(window, tz))
        found.sort(key=lambda e: (e.start, not e.all_day, e.title))
        return found

    @property
    def names(self) -> list[str]:
        """The calendars found on the account (empty until first read)."""
        return [col.name for col in self._collections or ()]

    async def create(self, event: NewEvent, uid: str, tz: ZoneInfo) -> None:
        """PUT with ``If-None-Match: *`` at the UID's own URL: run twice, it exists once."""
        async def put(col: CachedCalendar) -> None:
            text = ical.new_event(event, uid, datetime.now(UTC))
            try:
                saved = await col.calendar.save_event(text, no_overwrite=True)
            except dav_error.ConsistencyError:  # there already (this action's earlier run)?
                try:  # a 412 for a UID the server does not hold is a refusal, not a success
                    await col.calendar.get_event_by_uid(uid)
                except dav_error.NotFoundError:
                    raise CalendarError("The calendar server refused the change; nothing was "
                                        "changed.") from None
                log.info("calendar_event_exists", uid=uid)
                return
            col.put(href_of(saved), Resource.parse(text))
        await self._write(None, put)

    async def move(self, uid: str, start: datetime, occurrence: datetime | None,
                   tz: ZoneInfo) -> None:
        day = occurrence.astimezone(tz).date() if occurrence is not None else None

        async def change(col: CachedCalendar) -> None:
            obj = await col.calendar.get_event_by_uid(uid)
            obj.data = ical.moved(str(obj.data), uid, start, day, tz, datetime.now(UTC))
            await obj.save()
            col.put(href_of(obj), Resource.parse(str(obj.data)))
        await self._write(uid, change)

    async def cancel(self, uid: str, occurrence: datetime | None, tz: ZoneInfo) -> str:
        """Deletes the event (all of a series), or excludes one occurrence; gone already
        counts as done (a second run after a crash)."""
        day = occurrence.astimezone(tz).date() if occurrence is not None else None
        said = "the event"

        async def change(col: CachedCalendar) -> None:
            nonlocal said
            try:
                obj = await col.calendar.get_event_by_uid(uid)
            except dav_error.NotFoundError:
                return
            rest = ical.cancelled(str(obj.data), uid, day, tz, datetime.now(UTC))
            if rest is None:
                with contextlib.suppress(dav_error.NotFoundError):  # gone: done already
                    await obj.delete()
                col.drop(href_of(obj))
            else:
                obj.data = rest
                await obj.save()
                col.put(href_of(obj), Resource.parse(rest))
                said = "that occurrence"
        await self._write(uid, change)
        return said

    async def _write(self, uid: str | None,
                     change: Callable[[CachedCalendar], Awaitable[None]]) -> None:
        """One change in the calendar holding ``uid`` (a new one: the first calendar)."""
        async with self._lock:
            try:
                await asyncio.wait_for(self._ready(uid), timeout=self._timeout * 3)
                col = self._holding(uid)
                await asyncio.wait_for(change(col), timeout=self._timeout * 2)
            except CalendarError:
                raise
            except Exception as err:
                await self._reset()
                log.warning("calendar_write_failed", error=type(err).__name__)
                raise _explain(err) from None

    async def _ready(self, uid: str | None) -> None:
        """The calendars found, and ``uid`` in the cache if it is on the server."""
        if self._collections is None or (uid is not None and not self._has(uid)):
            await self._refresh()

    def _has(self, uid: str) -> bool:
        return any(col.holds(uid) for col in self._collections or ())

    def _holding(self, uid: str | None) -> CachedCalendar:
        collections = self._collections or []
        if not collections:
            raise CalendarError("The calendar account has no calendar to write to.")
        if uid is None:
            return collections[0]
        for col in collections:
            if col.holds(uid):
                return col
        raise CalendarError("That event is not on the calendar (look at the agenda again).")

    async def close(self) -> None:
        async with self._lock:
            await self._reset()

    async def _reset(self) -> None:
        client, self._client, self._collections = self._client, None, None
        if client is not None:
            try:
                await client.__aexit__(None, None, None)
            except Exception as err:  # closing a broken connection: nothing to keep
                log.debug("caldav_close_failed", error=type(err).__name__)

    async def _refresh(self) -> None:
        if self._collections is None:
            self._collections = await self._discover()
        for col in self._collections:
            await col.refresh()

    async def _discover(self) -> list[CachedCalendar]:
        client = aio.AsyncDAVClient(url=self._url, username=self._username,
                                    password=self._password,
                                    timeout=max(1, round(self._timeout)))
        await client.__aenter__()
        self._client = client
        principal = await client.get_principal()
        found = []
        calendars: list[Any] = await principal.get_calendars()  # type: ignore[misc]
        for calendar in calendars:
            name = str(await calendar.get_display_name() or calendar.url)
            if self._names is None or name in self._names:
                found.append(CachedCalendar(calendar, name))
        if self._names is not None and not found:
            raise CalendarError("None of the calendars named in bot.toml ([calendar] "
                                "calendars) is on the server.")
        return found


async def verify(url: str, username: str, password: str) -> None:
    """One PROPFIND (depth 0) at ``url`` with these credentials: returns when the server
    accepts them, else raises :class:`CalendarError` with one line (never the password)."""
    client = aio.AsyncDAVClient(url=url, username=username, password=password,
                                timeout=round(VERIFY_TIMEOUT))
    try:
        async with client:
            response = await asyncio.wait_for(
                client.propfind(url, props=["{DAV:}current-user-principal"], depth=0),
                timeout=VERIFY_TIMEOUT * 2)
    except Exception as err:
        log.info("calendar_verify_failed", error=type(err).__name__)
        raise _explain(err) from None
    if response.status != 207:
        log.info("calendar_verify_failed", status=response.status)
        raise CalendarError(f"The server at that address is not a CalDAV server (it "
                            f"answered {response.status}).")
