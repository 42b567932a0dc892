"""Whose calendar a turn may read: the owner's, from ``[calendar]`` in the bot's bot.toml."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from bots.fleet import BotDefinition
from core.calendar.model import Calendar

if TYPE_CHECKING:
    from adapters.caldav.client import CaldavCalendar


class FleetCalendars:
    """:class:`core.calendar.model.Calendars` for the fleet: one client per bot's owner.

    The owner's calendar is read only for the owner, in a direct chat: never for another
    person and never in a group."""

    def __init__(self, fleet: Iterable[BotDefinition]) -> None:
        self._owner: dict[str, CaldavCalendar] = {}
        for bot in fleet:
            if bot.calendar is None:
                continue
            # imported here: only a fleet with a calendar pays for caldav at its start
            from adapters.caldav.client import CaldavCalendar

            self._owner[bot.profile.name] = CaldavCalendar(
                bot.calendar.url, bot.calendar.username,
                bot.calendar.password.get_secret_value(), bot.calendar.calendars,
                bot.calendar.timeout)

    def __bool__(self) -> bool:
        return bool(self._owner)

    def reader(self, bot: str, owner: bool) -> Calendar | None:
        return self._owner.get(bot) if owner else None

    async def close(self) -> None:
        for calendar in self._owner.values():
            await calendar.close()
