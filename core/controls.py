"""The person's controls over what Kith knows, as values and plain functions.

The slash commands (core/memory_commands.py) and the web page ("what Kith knows about me")
both call these, so a click on the page and a command in a chat are the same real change.
Lists and reminders (core/schedule) are part of "everything": exported and forgotten here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from core.calendar.links import LinkReader
from core.ids import PersonId
from core.lists.model import ListItem
from core.lists.store import ListReader
from core.memory.model import PRIVATE, Identity, Memory, MemoryReader
from core.schedule.model import Schedule, ScheduleReader
from core.store.base import PersonData

MAX_MEMORY_TEXT = 500


class ControlError(ValueError):
    """A request the person can fix (the message says how)."""


@dataclass(frozen=True, slots=True)
class Known:
    memory: Memory
    said: str | None  # the source message's text, while that message is kept


@dataclass(frozen=True, slots=True)
class Knowledge:
    person_id: PersonId
    memories: tuple[Known, ...]  # active ones, oldest first
    preferences: dict[str, str]  # set explicitly with /prefs
    identities: tuple[Identity, ...]
    learning: bool
    reminders: tuple[Schedule, ...] = ()  # reminders and briefings, next due first
    lists: tuple[ListItem, ...] = ()  # open items


class PersonReader(Protocol):
    """Reading everything stored about a person, feature by feature, and nothing more:
    what the "what Kith knows about me" page and the export use."""

    @property
    def memories(self) -> MemoryReader: ...

    @property
    def schedule(self) -> ScheduleReader: ...

    @property
    def lists(self) -> ListReader: ...

    @property
    def calendar_links(self) -> LinkReader: ...

    async def preferences(self, person_id: PersonId) -> dict[str, str]: ...


async def active_memories(store: PersonReader, person_id: PersonId,
                          now: datetime) -> list[Memory]:
    return [m for m in await store.memories.memories(person_id) if m.active(now)]


async def knowledge(store: PersonReader, person_id: PersonId, now: datetime) -> Knowledge:
    memories = await active_memories(store, person_id, now)
    said = await store.memories.source_texts([m.source.inbound_id for m in memories])
    return Knowledge(
        person_id=person_id,
        memories=tuple(Known(m, said.get(m.source.inbound_id)) for m in memories),
        preferences=await store.preferences(person_id),
        identities=tuple(await store.memories.identities(person_id)),
        learning=await store.memories.learning(person_id),
        reminders=tuple(await store.schedule.for_person(person_id)),
        lists=tuple(await store.lists.items(person_id)),
    )


async def cancel_reminder(store: PersonData, person_id: PersonId,
                          schedule_id: str) -> Schedule | None:
    """What /reminders cancel ID does (and /briefing off, for a briefing)."""
    return await store.schedule.cancel(person_id, schedule_id)


async def forget_memories(store: PersonData, person_id: PersonId, ids: list[str]) -> int:
    """Delete these memories of the person (with their history and source messages)."""
    return await store.memories.delete_memories(person_id, ids)


@dataclass(frozen=True, slots=True)
class Forgotten:
    memories: int
    list_items: int
    schedules: int  # reminders and briefings
    calendar: bool = False  # a linked calendar's login was deleted


async def forget_everything(store: PersonData, person_id: PersonId) -> Forgotten:
    """Every copy of the person's words: their list items and reminders (with what each
    was created from), then every memory and every message they sent and its reply, the
    summaries retelling them, the transcripts and photo descriptions in those messages.
    The memories go last: their deletion scrubs the index and the WAL (SQLite) or VACUUMs
    (PostgreSQL) after the rest is gone."""
    list_items = await store.lists.delete_person(person_id)
    schedules = await store.schedule.delete_person(person_id)
    await store.actions.delete_person(person_id)  # their words are in actions' arguments
    await store.offers.delete_person(person_id)
    calendar = await store.calendar_links.unlink(person_id)  # their linked calendar's login
    return Forgotten(memories=await store.memories.delete_all(person_id),
                     list_items=list_items, schedules=schedules, calendar=calendar)


async def forget_words(store: PersonData, person_id: PersonId, ids: list[str],
                       words: str) -> Forgotten:
    """What /forget TEXT then /forget yes does: memories ``ids`` and every memory holding
    ``words`` (with their history and sources), every message of the person's holding them
    with its reply, Kith's replies retelling them, the summaries that did, and the list
    items and reminders holding them (the memories last: their deletion scrubs)."""
    list_items = await store.lists.delete_matching(person_id, words)
    schedules = await store.schedule.delete_matching(person_id, words)
    await store.actions.delete_matching(person_id, words)
    await store.offers.delete_matching(person_id, words)
    memories = await store.memories.delete_memories(person_id, ids, words=words)
    return Forgotten(memories=memories, list_items=list_items, schedules=schedules)


def clean_text(text: str) -> str:
    cleaned = " ".join(text.split())
    if not cleaned:
        raise ControlError("a memory cannot be empty")
    if len(cleaned) > MAX_MEMORY_TEXT:
        raise ControlError(f"a memory is at most {MAX_MEMORY_TEXT} characters")
    return cleaned


async def edit_memory(
    store: PersonData, person_id: PersonId, memory_id: str, text: str, now: datetime
) -> Memory | None:
    """Correct a memory's words in place; None when the person has no such memory."""
    return await store.memories.update_memory(person_id, memory_id, now, text=clean_text(text))


async def make_private(
    store: PersonData, person_id: PersonId, memory_id: str, now: datetime
) -> Memory | None:
    """Narrow a memory's scope to the person alone (from shared, or from one group)."""
    memory = await store.memories.memory(memory_id)
    if memory is None or memory.person_id != person_id or memory.superseded_by is not None:
        return None
    if memory.scope == PRIVATE:
        return memory
    return await store.memories.update_memory(person_id, memory_id, now, scope=PRIVATE)


async def set_learning(store: PersonData, person_id: PersonId, on: bool) -> None:
    await store.memories.set_learning(person_id, on)


async def export(store: PersonReader, person_id: PersonId) -> dict[str, Any]:
    """Everything stored about the person: memories, messages, preferences, lists, reminders."""
    data = await store.memories.export(person_id)
    data["lists"] = [{"list": i.list, "item": i.item, "done": i.done,
                      "created_at": i.created_at.isoformat()}
                     for i in await store.lists.items(person_id, include_done=True)]
    data["schedules"] = [{"id": s.id, "kind": s.kind.value, "text": s.text,
                          "due_at": s.due_at.isoformat(), "timezone": s.timezone,
                          "repeat": s.rule, "conversation": str(s.conversation)}
                         for s in await store.schedule.for_person(person_id)]
    link = await store.calendar_links.link(person_id)
    if link is not None:  # the address and username; the password is never exported
        data["calendar"] = {"url": link.url, "username": link.username,
                            "linked_at": link.linked_at.isoformat()}
    return data
