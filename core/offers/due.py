"""What a due scheduled turn says, for every kind (offers and event reminders here, the
rest in :mod:`core.schedule.deliver`). No model call."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Protocol

from core.calendar.model import CalendarReader
from core.events import Inbound
from core.ids import PersonId
from core.offers import event_reminders
from core.offers.service import Offers
from core.schedule.deliver import Planner, scheduled_text
from core.schedule.model import Kind


class Roles(Planner, event_reminders.Roles, Protocol):
    """The Store's roles a due turn reads."""


async def due_text(store: Roles, offers: Offers | None, inbound: Inbound, person: PersonId,
                   now: datetime, calendar: CalendarReader | None,
                   has_tool: Callable[[str], bool]) -> str:
    turn = inbound.scheduled
    assert turn is not None
    if turn.kind == Kind.OFFER.value:
        if offers is None:  # offers turned off since it was kept
            return ""
        return await offers.send(inbound, person, has_tool, calendar is not None)
    if turn.kind == Kind.EVENT.value:
        prefs = await store.preferences(person)
        lead = event_reminders.lead_of(prefs.get(event_reminders.PREF))
        if not await event_reminders.still_on(calendar, turn, lead, now):
            return ""
        return event_reminders.reminder_text(turn)
    if turn.kind == Kind.EVENT_SYNC.value:
        await event_reminders.sync(store, person, calendar, turn.timezone, inbound, now)
        return ""
    return await scheduled_text(store, person, turn, now, calendar)
