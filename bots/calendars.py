"""Whose calendar a turn may read: the owner's from ``[calendar]`` in the bot's bot.toml, and
each person's own, linked with ``/calendar connect`` (kept sealed in the store).

A person's calendar is only ever theirs: the reader is chosen by the person speaking, a
linked calendar is looked up by that person's id and its password opens only for that
person (the vault binds it to them). In a group the person who asked gets their own
free/busy (:class:`core.calendar.busy.BusyOnly`), never an event's words.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Protocol, runtime_checkable
from zoneinfo import ZoneInfo

from bots.fleet import BotDefinition
from core.calendar.agenda import NO_CALENDAR
from core.calendar.busy import BusyOnly
from core.calendar.linking import Linking
from core.calendar.links import CalendarLinks, purpose
from core.calendar.model import Calendar, CalendarError, Event, Linker, NewEvent, Window
from core.events import Inbound
from core.ids import PersonId
from core.logging import get_logger
from core.vault import Vault, VaultError

if TYPE_CHECKING:  # caldav is imported on first use: it costs kith serve's start ~0.3 s
    from adapters.caldav.client import CaldavCalendar

log = get_logger("kith.calendar")
LINKED_TIMEOUT = 10.0  # seconds for one CalDAV request to a linked calendar
REOPEN = ("I can't open your saved calendar password any more (my secret key changed): "
          "link it again with /calendar connect URL USERNAME in our private chat.")


def _caldav(url: str, username: str, password: str, calendars: Sequence[str] | None,
            timeout: float) -> CaldavCalendar:
    from adapters.caldav.client import CaldavCalendar

    return CaldavCalendar(url, username, password, calendars, timeout)


async def _verify(url: str, username: str, password: str) -> None:
    from adapters.caldav.client import verify

    await verify(url, username, password)


@runtime_checkable
class Eraser(Protocol):
    """A channel that can delete a person's message on its platform (Telegram's
    deleteMessage, Matrix redaction): True when it did."""

    async def erase(self, inbound: Inbound) -> bool: ...


class _Linked:
    """One person's linked calendar, looked up when first used in a turn (a turn that
    does not use the calendar costs nothing)."""

    def __init__(self, fleet: FleetCalendars, person_id: PersonId) -> None:
        self._fleet = fleet
        self._person = person_id

    async def _client(self) -> CaldavCalendar:
        return await self._fleet.client(self._person)

    async def events(self, window: Window, tz: ZoneInfo, *, refresh: bool = True
                     ) -> list[Event]:
        return await (await self._client()).events(window, tz, refresh=refresh)

    async def create(self, event: NewEvent, uid: str, tz: ZoneInfo) -> None:
        await (await self._client()).create(event, uid, tz)

    async def move(self, uid: str, start: datetime, occurrence: datetime | None,
                   tz: ZoneInfo) -> None:
        await (await self._client()).move(uid, start, occurrence, tz)

    async def cancel(self, uid: str, occurrence: datetime | None, tz: ZoneInfo) -> str:
        return await (await self._client()).cancel(uid, occurrence, tz)


class FleetCalendars:
    """:class:`core.calendar.model.Calendars` for the fleet. Without ``links`` and ``vault``
    only the owners' calendars from bot.toml are read."""

    def __init__(self, fleet: Iterable[BotDefinition], links: CalendarLinks | None = None,
                 vault: Vault | None = None) -> None:
        self._owner: dict[str, CaldavCalendar] = {
            bot.profile.name: _caldav(
                bot.calendar.url, bot.calendar.username,
                bot.calendar.password.get_secret_value(), bot.calendar.calendars,
                bot.calendar.timeout)
            for bot in fleet if bot.calendar is not None
        }
        self._links = links
        self._vault = vault
        self._clients: dict[str, tuple[bytes, CaldavCalendar]] = {}  # person → (sealed, …)
        self._lock = asyncio.Lock()
        self._erasers: dict[tuple[str, str], Eraser] = {}
        self._linker = (Linking(links, vault, _verify, self._erase, self._seen,
                                lambda bot: bot in self._owner, self._forget)
                        if links is not None and vault is not None else None)

    def __bool__(self) -> bool:
        return bool(self._owner) or self._linker is not None

    @property
    def linker(self) -> Linker | None:
        return self._linker

    def register_eraser(self, bot: str, channel: str, eraser: Eraser) -> None:
        self._erasers[(bot, channel)] = eraser

    def reader(self, bot: str, person_id: PersonId, *, owner: bool, group: bool
               ) -> Calendar | None:
        calendar: Calendar | None = self._owner.get(bot) if owner else None
        if calendar is None and self._linker is not None:
            calendar = _Linked(self, person_id)
        if calendar is None:
            return None
        return BusyOnly(calendar) if group else calendar

    async def client(self, person_id: PersonId) -> CaldavCalendar:
        """The person's linked calendar (its cache kept while the link is unchanged);
        CalendarError when they have none, or it cannot be opened."""
        assert self._links is not None and self._vault is not None
        link = await self._links.link(person_id)
        if link is None:
            await self._forget(person_id)
            raise CalendarError(NO_CALENDAR)
        async with self._lock:
            held = self._clients.get(person_id)
            if held is not None and held[0] == link.sealed:
                return held[1]
            try:
                password = self._vault.open(link.sealed, purpose(person_id))
            except VaultError:
                log.warning("calendar_link_unreadable")
                raise CalendarError(REOPEN) from None
            client = _caldav(link.url, link.username, password, None, LINKED_TIMEOUT)
            self._clients[person_id] = (link.sealed, client)
        if held is not None:
            await held[1].close()
        return client

    def _seen(self, person_id: PersonId) -> tuple[datetime | None, list[str]]:
        held = self._clients.get(person_id)
        return (held[1].last_read, held[1].names) if held is not None else (None, [])

    async def _forget(self, person_id: PersonId) -> None:
        held = self._clients.pop(person_id, None)
        if held is not None:
            await held[1].close()

    async def _erase(self, inbound: Inbound) -> bool:
        conv = inbound.conversation
        eraser = self._erasers.get((conv.bot, conv.channel))
        if eraser is None:
            return False
        try:
            return await eraser.erase(inbound)
        except Exception as err:  # the reply says so; the link is kept either way
            log.warning("message_not_erased", channel=conv.channel, error=type(err).__name__)
            return False

    async def close(self) -> None:
        for calendar in self._owner.values():
            await calendar.close()
        for _, client in list(self._clients.values()):
            await client.close()
        self._clients.clear()
