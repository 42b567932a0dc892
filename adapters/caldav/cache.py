"""One CalDAV calendar kept in memory: its objects parsed once, the windows already expanded,
and the ``getctag`` and sync token (RFC 6578) they match.

A warm read is one PROPFIND of the collection's ``getctag`` (CalendarServer's collection tag,
which Radicale, SabreDAV/Nextcloud, Baïkal, iCloud and Google serve): unchanged, the events
come from memory and a window asked for before is not even expanded again. Changed, one
``sync-collection`` REPORT with the token lists what changed and only those objects are
fetched; a server without sync tokens is read whole. A server without ``getctag`` gets the
sync REPORT on every read. Kith's own writes go into the cache as they are made, so they are
visible at once, with no request.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from caldav.elements import dav
from caldav.elements.base import ValuedBaseElement
from caldav.lib import error as dav_error

from core.calendar.expand import Resource, in_window
from core.calendar.model import Event, Window


class GetCTag(ValuedBaseElement):
    tag: ClassVar[str | None] = "{http://calendarserver.org/ns/}getctag"


def href_of(obj: Any) -> str:
    return str(obj.url.canonical() if hasattr(obj.url, "canonical") else obj.url)


def _parsed(obj: Any) -> Resource | None:
    data = getattr(obj, "data", None)
    return Resource.parse(str(data)) if data else None


WINDOWS = 16  # expanded windows kept per calendar (a day, a week, a few dates)


@dataclass
class CachedCalendar:
    """One calendar: ``objects`` by href, and the ``ctag``/``token`` they were read at."""

    calendar: Any  # caldav.Calendar bound to the async client
    name: str
    ctag: str | None = None
    token: str | None = None
    loaded: bool = False
    objects: dict[str, Resource] = field(default_factory=dict)
    _windows: dict[tuple[Any, ...], list[Event]] = field(default_factory=dict)

    def events(self, window: Window, tz: ZoneInfo) -> list[Event]:
        key = (window.start, window.end, str(tz))
        found = self._windows.get(key)
        if found is None:
            found = in_window(self.objects.values(), window, tz, self.name)
            if len(self._windows) >= WINDOWS:
                self._windows.pop(next(iter(self._windows)))
            self._windows[key] = found
        return list(found)

    def holds(self, uid: str) -> bool:
        return any(uid in r.uids for r in self.objects.values())

    def put(self, href: str, resource: Resource | None) -> None:
        """An object as it now is on the server (Kith's own write): shown at once."""
        if resource is None:
            self.objects.pop(href, None)
        else:
            self.objects[href] = resource
        self._windows.clear()

    def drop(self, href: str) -> None:
        self.put(href, None)

    async def refresh(self) -> None:
        """Bring the cache up to the server's state: one PROPFIND when nothing changed."""
        if not self.loaded:
            await self._load()
            return
        if self.ctag is not None:
            ctag = await self._ctag()
            if ctag == self.ctag:
                return
        else:
            ctag = None
        if self.token is None:
            await self._load(ctag)
        else:
            await self._sync(ctag)

    async def _ctag(self) -> str | None:
        props = await self.calendar.get_properties([GetCTag()])
        value = props.get(GetCTag.tag)
        return str(value) if value else None

    async def _load(self, ctag: str | None = None) -> None:
        """Everything, in one REPORT. The tags are read first, so nothing changed between
        them and the REPORT is missed (it shows as a change at the next read)."""
        token = None
        if not self.loaded:
            try:
                props = await self.calendar.get_properties([GetCTag(), dav.SyncToken()])
            except dav_error.DAVError:
                props = {}  # neither: read whole each time
            ctag = str(props.get(GetCTag.tag) or "") or None
            token = str(props.get(dav.SyncToken.tag) or "") or None
        objects = await self.calendar.search(event=True)
        self.objects = {}
        for obj in objects:
            resource = _parsed(obj)
            if resource is not None:
                self.objects[href_of(obj)] = resource
        self._windows.clear()
        self.ctag, self.token, self.loaded = ctag, token or self.token, True

    async def _sync(self, ctag: str | None) -> None:
        try:
            changes = await self.calendar.get_objects_by_sync_token(
                sync_token=self.token, load_objects=False, disable_fallback=True)
        except dav_error.AuthorizationError:
            raise
        except dav_error.DAVError:  # the token expired on the server: read whole
            self.token = None
            await self._load(ctag)
            return
        deleted = {str(d) for d in changes.deleted_urls}
        for href in deleted:
            self.objects.pop(href, None)
        for obj in changes.objects:
            href = href_of(obj)
            if href in deleted:
                continue
            try:
                await obj.load()
            except dav_error.NotFoundError:  # gone since the REPORT
                self.objects.pop(href, None)
                continue
            resource = _parsed(obj)
            if resource is not None:
                self.objects[href] = resource
            else:
                self.objects.pop(href, None)
        self._windows.clear()
        self.ctag = ctag
        self.token = str(changes.sync_token) if changes.sync_token else None
        if self.token is None:  # the server stopped giving tokens: read whole next time
            self.loaded = False
