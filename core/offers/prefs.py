"""``/prefs quiet 22:00-07:30`` and ``/prefs event_reminder 15`` (``off`` / ``-`` clears)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from core.calendar.model import CalendarReader
from core.events import Inbound
from core.ids import PersonId
from core.offers import event_reminders
from core.offers.quiet import parse_quiet
from core.schedule.times import TimeError

KEYS: dict[str, str] = {
    "quiet": "hours I send no offers, e.g. 22:00-07:30",
    "event_reminder": "minutes before each calendar event I message you, e.g. 15 (or off)",
}
OFF = ("off", "-", "none", "0")


class Roles(event_reminders.Roles, Protocol):
    async def set_preference(self, person_id: PersonId, key: str, value: str | None) -> None: ...


async def set_pref(store: Roles, inbound: Inbound, person_id: PersonId, key: str, value: str,
                   tz_name: str, calendar: CalendarReader | None,
                   clock: Callable[[], datetime]) -> str:
    if key == "quiet":
        if value.lower() in OFF:
            await store.set_preference(person_id, key, None)
            return "No quiet hours: offers come when I have them."
        try:
            quiet = parse_quiet(value)
        except TimeError as err:
            return f"{err}."
        await store.set_preference(person_id, key, str(quiet))
        return (f"Quiet hours {quiet} ({tz_name} time): offers I make in that time wait "
                "until it ends.")
    if value.lower() in OFF:
        await store.set_preference(person_id, key, None)
        gone = await event_reminders.stop(store, person_id)
        return "Event reminders off." + (f" ({gone} cancelled.)" if gone else "")
    if inbound.is_group:
        return "Set event reminders in a direct chat with me: they name your events."
    minutes = event_reminders.lead_of(value)
    if minutes is None:
        most = event_reminders.MAX_LEAD
        return (f"/prefs event_reminder MINUTES (1 to {most}) messages you that long before "
                "each timed event; /prefs event_reminder off stops it.")
    if calendar is None:
        return "You have no calendar I can read, so I can't remind you of its events."
    await store.set_preference(person_id, key, str(minutes))
    synced = await event_reminders.start(store, person_id, calendar, tz_name, inbound, clock())
    told = (" I couldn't read your calendar just now; I'll try again within the hour."
            if synced is None else f" {synced[0]} coming up in the next two days.")
    return (f"I'll message you {minutes} minutes before each timed event on your "
            f"calendar.{told}")
