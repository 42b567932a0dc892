"""One CalDAV account's events, kept in a cache that one request per calendar refreshes.

The first read finds the calendars (principal → home set) and loads every event with one
``calendar-query`` REPORT per calendar, after asking for the collection's sync token. Each
later read sends one ``sync-collection`` REPORT (RFC 6578) per calendar with that token and
fetches only what changed; a server without sync tokens is read whole each time. Expansion
of series happens locally (:mod:`core.calendar.expand`), so the window asked for never costs
a request. Errors become one line for the person; the password never appears in them.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from caldav import aio
from caldav.elements import dav
from caldav.lib import error as dav_error

from core.calendar.expand import Resource, in_window
from core.calendar.model import CalendarError, Event, Window
from core.logging import get_logger

log = get_logger("kith.caldav")


@dataclass
class _Collection:
    calendar: Any  # caldav.Calendar bound to the async client
    name: str
    token: str | None = None
    objects: dict[str, Resource] = field(default_factory=dict)  # href → parsed once


def _href(obj: Any) -> str:
    return str(obj.url.canonical() if hasattr(obj.url, "canonical") else obj.url)


def _explain(err: BaseException) -> CalendarError:
    """One line for the person; never the password (it is in no field read here)."""
    if isinstance(err, dav_error.AuthorizationError):
        return CalendarError("The calendar server refused the login (check the calendar's "
                             "username and password).")
    if isinstance(err, TimeoutError) or "timeout" in type(err).__name__.lower():
        return CalendarError("The calendar server didn't answer in time; try again shortly.")
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
        self._collections: list[_Collection] | None = None
        self._lock = asyncio.Lock()
        self.requests = 0  # REPORT rounds sent (the benchmark reads it)

    async def events(self, window: Window, tz: ZoneInfo) -> list[Event]:
        async with self._lock:
            try:
                await asyncio.wait_for(self._refresh(), timeout=self._timeout * 3)
            except CalendarError:
                raise
            except Exception as err:
                await self._reset()
                log.warning("calendar_unavailable", error=type(err).__name__)
                raise _explain(err) from None
            collections = list(self._collections or ())
        found: list[Event] = []
        for col in collections:
            found.extend(in_window(col.objects.values(), window, tz, col.name))
        found.sort(key=lambda e: (e.start, not e.all_day, e.title))
        return found

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
                await self._load(col)
            return
        for col in self._collections:
            if col.token is None:
                await self._load(col)
            else:
                await self._sync(col)

    async def _discover(self) -> list[_Collection]:
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
                found.append(_Collection(calendar, name))
        if self._names is not None and not found:
            raise CalendarError("None of the calendars named in bot.toml ([calendar] "
                                "calendars) is on the server.")
        return found

    async def _token(self, col: _Collection) -> str | None:
        props = await col.calendar.get_properties([dav.SyncToken()])
        value = props.get(dav.SyncToken.tag)
        return str(value) if value else None

    async def _load(self, col: _Collection) -> None:
        """Everything, in one REPORT; the token asked first, so nothing between is missed."""
        self.requests += 1
        token = None
        try:
            token = await self._token(col)
        except dav_error.DAVError:
            token = None  # no sync support: read whole each time
        objects = await col.calendar.search(event=True)
        col.objects = {}
        for obj in objects:
            resource = Resource.parse(str(obj.data)) if obj.data else None
            if resource is not None:
                col.objects[_href(obj)] = resource
        col.token = token

    async def _sync(self, col: _Collection) -> None:
        self.requests += 1
        changes = await col.calendar.get_objects_by_sync_token(
            sync_token=col.token, load_objects=True)
        for href in changes.deleted_urls:
            col.objects.pop(str(href), None)
        for obj in changes.objects:
            href = _href(obj)
            if href in {str(d) for d in changes.deleted_urls}:
                continue
            resource = Resource.parse(str(obj.data)) if getattr(obj, "data", None) else None
            if resource is not None:
                col.objects[href] = resource
            else:
                col.objects.pop(href, None)
        col.token = str(changes.sync_token) if changes.sync_token else None
