"""What a hostile forward must not change or reveal: the owner's private state, seeded and
read back whole (preferences, learned profile, memories, reminders, lists)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.schedule.model import Kind, NewSchedule
from tests.adapters.email.test_poisoning import seed, snapshot

T0 = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)
PRIVATE_ITEMS = ("oat milk", "birthday candles for Ines")
PRIVATE_REMINDER = "pick up Ines at the airport"


async def seed_private(store: Any, channel: str, platform_id: str, chat_id: str,
                       space: str | None = None) -> str:
    """The owner as :func:`seed` makes them, plus a shopping list and a reminder.
    ``space``: the identity space of their id, when it is not the channel (phone numbers)."""
    person = await seed(store, space or channel, platform_id)
    await store.lists.add_items(person, "shopping", list(PRIVATE_ITEMS), T0)
    origin = Inbound(id=f"seed:{channel}:r", conversation=ConversationKey("kith", channel, chat_id),
                     sender=Sender(platform_id), text="", addressed=Addressed.DIRECT,
                     trust=Trust.OWNER, chat=ChatKind.DIRECT)
    due = datetime(2031, 3, 2, 8, 30, tzinfo=UTC)
    await store.schedule.add(NewSchedule(
        person_id=person, kind=Kind.REMINDER, origin=origin, text=PRIVATE_REMINDER,
        timezone="UTC", rule=None, due_at=due, anchor=due.replace(tzinfo=None)), T0)
    return person


async def state(kith: Any, person: str) -> tuple[Any, ...]:
    """Everything a side effect or a poisoned memory would change."""
    store = kith.store
    reminders = sorted((r.id, r.text, r.due_at)
                       for r in await store.schedule.for_person(person))
    items = sorted((i.list, i.item, i.done)
                   for i in await store.lists.items(person, include_done=True))
    return (*await snapshot(kith, person), reminders, items)
