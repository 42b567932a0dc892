"""What only the PostgreSQL store does: migrations recorded by name, deletion followed by a
VACUUM, and a database it cannot reach reported in one line without the password."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import psycopg
import pytest

from core.controls import forget_everything
from core.memory.model import MemoryKind, NewMemory, Source
from core.schedule.model import Kind, NewSchedule
from core.store.base import InboxStatus, TurnRecord
from core.store.postgres.connect import DatabaseUnavailable, describe, where
from core.store.postgres.migrations import MIGRATIONS
from core.store.postgres.store import PostgresStore
from tests.contract.test_store_contract import KEY, OTHER, inbound

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[PostgresStore]:
    store = PostgresStore(pg_url, max_size=2)
    await store.open()
    yield store
    await store.close()


async def _rows(url: str, sql: str) -> list[tuple[object, ...]]:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(sql.encode())
        return await cur.fetchall() if cur.description else []


async def test_every_migration_is_recorded_once_and_reopening_applies_none(
    pg_url: str, store: PostgresStore,
) -> None:
    names = [str(r[0]) for r in await _rows(pg_url, "SELECT name FROM feature_migrations")]
    assert sorted(names) == sorted(m.name for m in MIGRATIONS)
    again = PostgresStore(pg_url, max_size=1)
    await again.open()
    await again.close()
    assert len(await _rows(pg_url, "SELECT name FROM feature_migrations")) == len(MIGRATIONS)


async def test_forget_leaves_no_dead_rows_behind(pg_url: str, store: PostgresStore) -> None:
    for n, key in enumerate((KEY, OTHER, KEY)):
        item = inbound(n, key, text=f"secret words {n}")
        await store.record_inbound(item)
        person = await store.person_for("test", item.sender)
        await store.finish_turn(TurnRecord(item, person, item.text, "noted"), InboxStatus.DONE,
                                 fence=None)
    await _rows(pg_url, "CREATE EXTENSION IF NOT EXISTS pgstattuple")
    assert await store.forget(KEY) == 4
    for table in ("turns", "inbox"):
        [(dead,)] = await _rows(pg_url, f"SELECT dead_tuple_count FROM pgstattuple('{table}')")
        assert dead == 0, table  # VACUUM ran after the delete committed
    texts = await _rows(pg_url, "SELECT text FROM turns ORDER BY seq")
    assert texts == [("secret words 1",), ("noted",)]


async def test_healthy_until_closed(pg_url: str) -> None:
    store = PostgresStore(pg_url, max_size=1)
    await store.open()
    assert await store.healthy()
    await store.close()
    assert not await store.healthy()


async def test_an_unreachable_database_is_one_line_without_the_password(tmp_path: object) -> None:
    url = f"postgresql://kith:hunter2-secret@/kith?host={tmp_path}&port=1"
    store = PostgresStore(url)
    with pytest.raises(DatabaseUnavailable) as caught:
        await store.open()
    message = str(caught.value)
    assert "hunter2" not in message and "\n" not in message
    assert message.startswith(f"cannot connect to the database at {tmp_path}:1/kith: ")
    assert where(url) == f"{tmp_path}:1/kith"
    assert describe(ValueError("bad hunter2-secret\nmore"), url) == "bad ***"


async def test_forget_all_leaves_no_dead_rows_in_the_tables_it_touched(
    pg_url: str, store: PostgresStore,
) -> None:
    item = inbound(1, text="my secret is 42")
    await store.record_inbound(item)
    person = await store.person_for("test", item.sender)
    await store.finish_turn(TurnRecord(item, person, item.text, "noted"), InboxStatus.DONE,
                            fence=None)
    source = Source(item.id, "test", item.sender.platform_id, NOW)
    await store.memories.add_memory(
        NewMemory(person, "Secret is 42", MemoryKind.FACT, source, 0.9), NOW)
    await store.lists.add_items(person, "shopping", ["oat milk"], NOW)
    await store.schedule.add(NewSchedule(person, Kind.REMINDER, item, "tea", "UTC", None,
                                         NOW, NOW.replace(tzinfo=None)), NOW)
    await store.schedule.claim_due(NOW, 10)
    await _rows(pg_url, "CREATE EXTENSION IF NOT EXISTS pgstattuple")
    gone = await forget_everything(store, person)
    assert (gone.memories, gone.list_items, gone.schedules) == (1, 1, 1)
    for table in ("memories", "memory_vectors", "turns", "inbox", "list_items", "schedules",
                  "schedule_fired"):
        [(dead,)] = await _rows(pg_url, f"SELECT dead_tuple_count FROM pgstattuple('{table}')")
        assert dead == 0, table
    assert await _rows(pg_url, "SELECT text FROM turns") == []
