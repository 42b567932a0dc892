""""Forget everything" leaves no copy of the person's words, in any shape, on any backend:
SQLite's file and WAL bytes, every row of every PostgreSQL table after the VACUUM, and the
export. Another person's words in a shared group stay (so the check can fail)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import psycopg

from core import controls
from core.events import (
    Addressed,
    ChatKind,
    ConversationKey,
    Inbound,
    Quoted,
    Sender,
    Trust,
)
from core.history import CallRecord, ToolStep, ToolTrace
from core.media.words import photo, transcribed
from core.memory.model import MemoryKind, NewMemory, Source
from core.provenance import Origin
from core.schedule.model import Kind, NewSchedule
from core.store.base import InboxStatus, Store, TurnRecord
from core.store.sqlite import SQLiteStore

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
DM = ConversationKey("kith", "telegram", "dm-ana")
GROUP = ConversationKey("kith", "telegram", "group-1")
ANA, BEN = Sender("u-ana", "Ana"), Sender("u-ben", "Ben")
KEPT = "benkeepsthis7q"  # Ben's words in the group


def message(n: int, text: str, key: ConversationKey = DM, sender: Sender = ANA,
            quoted: tuple[Quoted, ...] = ()) -> Inbound:
    group = key == GROUP
    return Inbound(id=f"telegram:{key.chat_id}:{n}", conversation=key, sender=sender,
                   text=text, received_at=NOW + timedelta(seconds=n), quoted=quoted,
                   addressed=Addressed.MENTION if group else Addressed.DIRECT,
                   trust=Trust.OWNER, chat=ChatKind.GROUP if group else ChatKind.DIRECT)


async def turn(store: Store, item: Inbound, reply: str | None, *, user: str | None = None,
               status: InboxStatus = InboxStatus.DELIVERED, command: bool = False,
               tool_result: str = "") -> str:
    await store.record_inbound(item)
    person = await store.person_for("telegram", item.sender)
    trace = ToolTrace((ToolStep("", (CallRecord("c1", "list_add", "{}", tool_result,
                                                Origin.KITH),)),), reply or "") \
        if tool_result else None
    await store.finish_turn(TurnRecord(
        item, person, user if user is not None else item.text, reply, 1, 1,
        answer=reply, answer_status="sent" if reply else None, command=command, trace=trace),
        status, fence=None)
    return person


async def plant(store: Store) -> tuple[str, list[str]]:
    """The person's words in every shape Kith keeps them; returns (person, the strings)."""
    words: list[str] = []

    def w(name: str) -> str:
        words.append(f"{name}zq{len(words)}x")
        return words[-1]

    plain, retold = w("plain"), w("retold")
    ana = await turn(store, message(1, f"hello {plain}"), f"You said {plain}; {retold}")
    twice = w("twice")  # a fact said twice: the memory names only the first message
    first = message(2, f"I like {twice}")
    await turn(store, first, "Noted.")
    await turn(store, message(3, f"really, {twice}!"), "Got it.")
    guessed = w("guessed")  # extracted without a message index: the source is a guess
    said = message(4, f"my car is a {guessed}")
    await turn(store, said, "Nice.")
    last = message(5, "ok thanks")
    await turn(store, last, "You're welcome.")
    for text, source in ((f"Likes {twice}", first), (f"Drives a {guessed}", last)):
        await store.memories.add_memory(NewMemory(
            ana, text, MemoryKind.FACT, Source(source.id, "telegram", "u-ana", NOW), 0.9), NOW)
    summary = w("summary")
    await store.set_summary(DM, 0, f"Ana talked about {summary}.", 3, Origin.PERSON)
    remind, listed = w("remind"), w("listed")
    ask = message(6, f"remind me to {remind} at 5")
    await turn(store, ask, f"I'll remind you to {remind} at 17:00.")
    await store.schedule.add(NewSchedule(ana, Kind.REMINDER, ask, remind, "UTC", None, NOW,
                                          NOW.replace(tzinfo=None)), NOW)
    await store.schedule.claim_due(NOW + timedelta(minutes=1), 10)  # a fired occurrence
    await turn(store, message(7, f"add {listed} to shopping"), "Added.",
               tool_result=f"added {listed}")  # the tool's result, kept in the turn's trace
    await store.lists.add_items(ana, "shopping", [listed], NOW)
    voice, seen = w("voice"), w("seen")
    await turn(store, message(8, "[voice note]"), "Heard you.", user=transcribed(voice))
    await turn(store, message(9, "look"), "Nice photo.", user=photo(seen))
    command = w("command")  # a /memory listing retells memories
    await turn(store, message(10, "/memory"), f"1. {command}", command=True)
    failed = w("failed")  # given up: the payload is kept, no turn was written
    item = message(11, f"are you there {failed}")
    await store.record_inbound(item)
    await store.finish_turn(TurnRecord(item, ana, None, None), InboxStatus.FAILED,
                            fence=None)
    forwarded = w("forwarded")
    quote = Quoted(origin=Origin.QUOTE, text=forwarded)
    await turn(store, message(12, "see this", quoted=(quote,)), "Read it.")
    grouped = w("grouped")
    await turn(store, message(13, f"@kith {grouped}", GROUP), f"Sure: {grouped}")
    await turn(store, message(14, f"@kith {KEPT}", GROUP, BEN), f"Hi Ben: {KEPT}")
    return ana, words


async def every_text(store: Store) -> bytes:
    """All the database holds: SQLite's file and WAL; every row of every PostgreSQL table."""
    if isinstance(store, SQLiteStore):
        path = store.path
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")
    url = store.url  # type: ignore[attr-defined]  # PostgresStore
    chunks: list[str] = []
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute("SELECT tablename FROM pg_tables WHERE schemaname = 'public'")
        for (table,) in await cur.fetchall():
            rows = await conn.execute(f'SELECT t::text FROM "{table}" t')  # our own names
            chunks += [str(r[0]) for r in await rows.fetchall()]
    return "\n".join(chunks).encode()


async def test_forget_everything_leaves_no_copy_of_the_persons_words(store: Store) -> None:
    ana, words = await plant(store)
    assert len(words) >= 10
    before = await every_text(store)
    assert all(w.encode() in before for w in words), "each shape really was stored"
    exported = json.dumps(await controls.export(store, ana), ensure_ascii=False)
    assert [w for w in words if w in exported]  # the export shows the person's words
    gone = await controls.forget_everything(store, ana)
    assert (gone.memories, gone.list_items, gone.schedules) == (2, 1, 1)
    after = await every_text(store)
    exported = json.dumps(await controls.export(store, ana), ensure_ascii=False)
    assert [w for w in words if w.encode() in after] == []
    assert [w for w in words if w in exported] == []
    assert KEPT.encode() in after  # Ben's words stay
    kept = [t.text for t in await store.transcript(GROUP, 50)]
    assert kept == [f"@kith {KEPT}", f"Hi Ben: {KEPT}"]


async def test_a_message_being_answered_keeps_its_row(store: Store) -> None:
    """The /forget all itself is being answered: its row delivers the reply."""
    ana, _ = await plant(store)
    now = message(20, "/forget all")
    await store.record_inbound(now)
    await controls.forget_everything(store, ana)
    assert await store.inbox_status(now.id) == InboxStatus.PENDING


async def test_forget_text_leaves_no_copy_of_those_words_and_keeps_the_rest(
        store: Store) -> None:
    """/forget TEXT, confirmed: the words go from every shape; the person's other words
    and other people's messages stay."""
    w, kept = "Zorblaxqq", "keepmeqq"
    ana = await turn(store, message(1, f"I drive a {w}"), f"A {w}, nice.")
    first = message(2, f"did I say my car is a {w.lower()}?")  # said twice, other case
    await turn(store, first, "You did.")
    last = message(3, f"unrelated {kept}")
    await turn(store, last, "Ok.")
    for text, source in ((f"Drives a {w}", first), (f"Owns a {w} car", last)):  # one guessed
        await store.memories.add_memory(NewMemory(
            ana, text, MemoryKind.FACT, Source(source.id, "telegram", "u-ana", NOW), 0.9), NOW)
    await store.memories.add_memory(NewMemory(
        ana, f"Likes {kept}", MemoryKind.FACT, Source(last.id, "telegram", "u-ana", NOW), 0.9),
        NOW)
    await store.set_summary(DM, 0, f"Ana drives a {w}.", 3, Origin.PERSON)
    ask = message(4, f"remind me to wash the {w}")
    await turn(store, ask, f"I'll remind you to wash the {w}.")
    await store.schedule.add(NewSchedule(ana, Kind.REMINDER, ask, f"wash the {w}", "UTC", None,
                                          NOW, NOW.replace(tzinfo=None)), NOW)
    await store.schedule.claim_due(NOW + timedelta(minutes=1), 10)
    await turn(store, message(5, "add it"), "Added.", tool_result=f"added '{w} wax'")
    await store.lists.add_items(ana, "shopping", [f"{w} wax", f"{kept} soap"], NOW)
    await turn(store, message(6, "[voice note]"), "Heard.", user=transcribed(f"my {w} broke"))
    await turn(store, message(7, "look"), "Nice.", user=photo(f"a red {w}"))
    await turn(store, message(8, "/memory"), f"1. Drives a {w}", command=True)
    failed = message(9, f"is the {w} fixed")
    await store.record_inbound(failed)
    await store.finish_turn(TurnRecord(failed, ana, None, None), InboxStatus.FAILED,
                            fence=None)
    await turn(store, message(10, f"@kith my {w}", GROUP), "Noted.")
    await turn(store, message(11, "@kith what does Ana drive?", GROUP, BEN), f"A {w}.")
    assert w.encode() in await every_text(store)
    gone = await controls.forget_words(store, ana, [], w)
    after = await every_text(store)
    exported = json.dumps(await controls.export(store, ana), ensure_ascii=False)
    assert (gone.memories, gone.list_items, gone.schedules) == (2, 1, 1)
    assert w.encode() not in after and w.lower().encode() not in after
    assert w not in exported
    assert kept.encode() in after and kept in exported  # the rest of Ana's words stay
    group = [t.text for t in await store.transcript(GROUP, 50)]
    assert group == ["@kith what does Ana drive?"]  # Ben's message stays, the retelling goes
