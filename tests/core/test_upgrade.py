"""A database made by main before per-feature migrations opens with today's code, in place:
every row is still there and readable through the Store, and the schema it ends with is
the schema a fresh database gets (both backends). ``tests/fixtures/schema_main.py`` holds
main's migrations as they were, frozen."""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psycopg
import pytest

from core.actions.model import ActionKey, State
from core.codec import inbound_to_json
from core.db.schema import Step
from core.memory import terms
from core.store.base import InboxStatus, Store
from core.store.features import POSTGRES, SQLITE
from core.store.migrate import TABLE, check
from core.store.postgres.store import PostgresStore
from core.store.sqlite import SQLiteStore
from tests.contract.test_store_contract import KEY, inbound
from tests.fixtures import schema_main
from tests.pg import _admin, database_url

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
ITEM = inbound(1, text="my cat is called Miso")
WAITING = inbound(2, text="are you there?")

# one row in each feature's tables, as main's code wrote them (named parameters)
ROWS = (
    "INSERT INTO people (id, created_at) VALUES (:p, :at)",
    "INSERT INTO identities (channel, platform_id, person_id, display_name) "
    "VALUES ('test', 'u1', :p, 'Ana')",  # the contract tests' ANA
    "INSERT INTO preferences (person_id, key, value, updated_at) "
    "VALUES (:p, 'timezone', 'Europe/Lisbon', :at)",
    "INSERT INTO inbox (id, conversation, payload, status, received_at) "
    "VALUES (:id, :key, :payload, 'done', :at)",
    "INSERT INTO inbox (id, conversation, payload, received_at) "
    "VALUES (:waiting, :key, :waiting_payload, :at)",
    "INSERT INTO conversations (key, summary, summary_upto, updated_at) "
    "VALUES (:key, 'Ana has a cat.', 0, :at)",
    "INSERT INTO turns (conversation, epoch, role, author, person_id, inbound_id, text, "
    "tokens, created_at, origin) "
    "VALUES (:key, 0, 'user', 'Ana', :p, :id, 'my cat is called Miso', 5, :at, 'person')",
    "INSERT INTO turns (conversation, epoch, role, inbound_id, text, tokens, created_at, "
    "origin) VALUES (:key, 0, 'assistant', :id, 'Miso, noted.', 3, :at, 'kith')",
    "INSERT INTO schedules (id, person_id, kind, conversation, origin, text, timezone, "
    "anchor, due_at, created_at) VALUES ('r1', :p, 'reminder', :key, :payload, "
    "'feed Miso', 'UTC', :anchor, :due, :at)",
    "INSERT INTO list_items (person_id, list, item, created_at) "
    "VALUES (:p, 'shopping', 'cat food', :at)",
    "INSERT INTO actions (inbound_id, idx, person_id, conversation, tool, args, state, "
    "summary, created_at, expires_at) VALUES (:id, 0, :p, :key, 'list_add', '{}', "
    "'proposed', 'add cat food', :stamp, :stamp)",
)
SQLITE_MEMORY = (
    "INSERT INTO memories (id, person_id, text, kind, confidence, source_inbound, "
    "source_channel, source_sender, source_at, created_at, updated_at) "
    "VALUES ('m1', :p, 'Has a cat called Miso', 'fact', 0.9, :id, 'test', 'ana', :at, :at, :at)")
POSTGRES_MEMORY = (
    "INSERT INTO memories (id, person_id, text, kind, confidence, source_inbound, "
    "source_channel, source_sender, source_at, created_at, updated_at, tsv, words) "
    "VALUES ('m1', :p, 'Has a cat called Miso', 'fact', 0.9, :id, 'test', 'ana', :at, :at, "
    ":at, to_tsvector('kith_memory', 'has a cat called miso'), 5)")


def _values(person: str, *, stamps: bool) -> dict[str, object]:
    """The rows' values; ``stamps``: SQLite keeps times as ISO text and epoch seconds."""
    at: object = AT.isoformat() if stamps else AT
    return {"p": person, "at": at, "id": ITEM.id, "key": str(KEY),
            "payload": inbound_to_json(ITEM), "waiting": WAITING.id,
            "waiting_payload": inbound_to_json(WAITING),
            "anchor": "2026-12-02T09:00:00" if stamps else datetime(2026, 12, 2, 9),
            "due": AT.timestamp() + 86400 if stamps else AT.replace(day=2),
            "stamp": AT.timestamp() if stamps else AT}


async def _everything_is_there(store: Store, person: str) -> None:
    assert await store.person_for("test", ITEM.sender) == person
    assert await store.preferences(person) == {"timezone": "Europe/Lisbon"}
    assert await store.inbox_status(ITEM.id) is InboxStatus.DONE
    assert [i.id for i in await store.pending()] == [WAITING.id]
    assert [(t.role, t.text) for t in await store.history(KEY, 0, 10)] == [
        ("user", "my cat is called Miso"), ("assistant", "Miso, noted.")]
    assert (await store.conversation(KEY)).summary == "Ana has a cat."
    assert [m.text for m in await store.memories.memories(person)] == ["Has a cat called Miso"]
    assert [s.text for s in await store.schedule.for_person(person)] == ["feed Miso"]
    assert [i.item for i in await store.lists.items(person)] == ["cat food"]
    action = await store.actions.get(ActionKey(ITEM.id, 0))
    assert action is not None and action.state is State.PROPOSED
    # and every feature still writes
    assert await store.lists.add_items(person, "shopping", ["milk"], AT) == ["milk"]
    await store.set_preference(person, "name", "Ana")
    assert await store.record_inbound(inbound(3))


def _sqlite_schema(path: Path) -> set[tuple[str, str, str]]:
    db = sqlite3.connect(path)
    try:
        return {(str(t), str(n), str(s)) for t, n, s in db.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE name NOT IN (?, 'schema_version') "
            "AND name NOT LIKE 'sqlite_autoindex_%'", (TABLE,))}
    finally:
        db.close()


def _sqlite_steps(path: Path) -> list[tuple[str, int]]:
    db = sqlite3.connect(path)
    try:
        return [(str(f), int(v)) for f, v in db.execute(
            f"SELECT feature, version FROM {TABLE} ORDER BY rowid")]
    finally:
        db.close()


async def test_a_sqlite_database_from_main_upgrades_in_place(tmp_path: Path) -> None:
    old = tmp_path / "main.db"
    db = sqlite3.connect(old, isolation_level=None)
    terms.register(db)  # main's migration 12 and the memory triggers call these
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    for version, script in enumerate(schema_main.SQLITE, start=1):
        db.executescript(f"BEGIN; {script}; INSERT INTO schema_version VALUES ({version}); "
                         "COMMIT;")
    person = uuid.uuid4().hex
    for statement in (*ROWS, SQLITE_MEMORY):
        db.execute(statement, {k: v for k, v in _values(person, stamps=True).items()
                               if f":{k}" in statement})
    db.close()

    store = SQLiteStore(old)
    await store.open()
    try:
        await _everything_is_there(store, person)
    finally:
        await store.close()
    # nothing ran again: main's steps were adopted, steps written since ran after them,
    # and the schema is a fresh database's
    adopted = [(s.feature, s.version) for s in SQLITE if s.was is not None]
    assert _sqlite_steps(old) == adopted + [(s.feature, s.version) for s in SQLITE
                                            if s.was is None]
    fresh = SQLiteStore(tmp_path / "fresh.db")
    await fresh.open()
    await fresh.close()
    assert _sqlite_schema(old) == _sqlite_schema(tmp_path / "fresh.db")


def _pg_schema(url: str) -> dict[str, set[tuple[Any, ...]]]:
    queries = {
        "columns": "SELECT table_name, column_name, ordinal_position, data_type, "
                   "column_default, is_nullable, is_identity FROM information_schema.columns "
                   "WHERE table_schema = 'public'",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes "
                   "WHERE schemaname = 'public'",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) "
                       "FROM pg_constraint WHERE connamespace = 'public'::regnamespace",
        "triggers": "SELECT event_object_table, trigger_name, event_manipulation, "
                    "action_statement FROM information_schema.triggers",
        "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc "
                     "WHERE pronamespace = 'public'::regnamespace AND prokind = 'f'",
        "text_search": "SELECT cfgname FROM pg_ts_config WHERE cfgnamespace = "
                       "'public'::regnamespace UNION ALL SELECT dictname FROM pg_ts_dict "
                       "WHERE dictnamespace = 'public'::regnamespace",
        "storage": "SELECT attrelid::regclass::text, attname, attstorage FROM pg_attribute "
                   "WHERE attrelid IN (SELECT oid FROM pg_class "
                   "WHERE relnamespace = 'public'::regnamespace) AND attnum > 0",
        "options": "SELECT relname, reloptions::text FROM pg_class "
                   "WHERE relnamespace = 'public'::regnamespace AND reloptions IS NOT NULL",
    }
    skip = {TABLE, "schema_migrations", f"{TABLE}_pkey", "schema_migrations_pkey"}
    with psycopg.connect(url) as conn:
        return {name: {tuple(r) for r in conn.execute(q).fetchall() if not skip & set(map(str, r))}
                for name, q in queries.items()}


@pytest.fixture
def second_pg_url(pg_server: str) -> Iterator[str]:
    name = "t_" + uuid.uuid4().hex[:12]
    _admin(pg_server, f'CREATE DATABASE "{name}"')
    try:
        yield database_url(pg_server, name)
    finally:
        _admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_a_postgres_database_from_main_upgrades_in_place(
        pg_url: str, second_pg_url: str) -> None:
    person = uuid.uuid4().hex
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE schema_migrations ("
                     " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())")
        for name, sql in schema_main.POSTGRES:
            conn.execute(sql.encode())
            conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
        values = _values(person, stamps=False)
        for statement in (*ROWS, POSTGRES_MEMORY):
            named = statement
            for key in sorted(values, key=len, reverse=True):
                named = named.replace(f":{key}", f"%({key})s")
            conn.execute(named.encode(), values)

    store = PostgresStore(pg_url, max_size=2)
    await store.open()
    try:
        await _everything_is_there(store, person)
    finally:
        await store.close()
    with psycopg.connect(pg_url) as conn:
        steps = [(str(r[0]), int(r[1])) for r in conn.execute(
            f"SELECT feature, version FROM {TABLE}").fetchall()]
    assert sorted(steps) == sorted((s.feature, s.version) for s in POSTGRES)
    fresh = PostgresStore(second_pg_url, max_size=2)
    await fresh.open()
    await fresh.close()
    assert _pg_schema(pg_url) == _pg_schema(second_pg_url)


def test_every_migration_of_main_is_some_steps_was() -> None:
    """Adoption covers main's whole list: each old entry maps to the steps it created, and
    the steps of one old entry hold its statements, nothing more."""
    for version, script in enumerate(schema_main.SQLITE, start=1):
        steps = [s for s in SQLITE if s.was == version]
        assert "".join("".join(s.sql for s in steps).split()) == "".join(script.split())
    old = dict(schema_main.POSTGRES)
    assert {str(s.was): s.sql for s in POSTGRES if s.was is not None} == old


def test_a_step_out_of_order_is_refused() -> None:
    with pytest.raises(RuntimeError, match="out of order"):
        check((Step("lists", 1, "items", ""), Step("lists", 3, "more", "")))
    with pytest.raises(RuntimeError, match="not plain"):
        check((Step("lists", 1, "it's", ""),))


# what main recorded for the inbox's, conversations' and people's steps while they were one
# "core" feature (session 29), frozen
CORE_SQLITE = ("core/1-inbox-conversations-people", "core/2-pairings", "core/3-delivery",
               "core/4-command-turns", "core/5-quoted", "core/6-provenance")
CORE_POSTGRES = ("core/1-inbox", "core/2-conversations", "core/3-people", "core/4-provenance")
MOVED = ("inbox", "conversations", "people")


def _as_core(steps: tuple[str, ...]) -> list[tuple[str, int, str]]:
    return [("core", int(name.split("/")[1].split("-")[0]), name) for name in steps]


async def test_a_sqlite_database_with_the_core_feature_renames_it_in_place(
        tmp_path: Path) -> None:
    path = tmp_path / "kith.db"
    store = SQLiteStore(path)
    await store.open()
    await store.record_inbound(ITEM)
    await store.close()
    db = sqlite3.connect(path, isolation_level=None)
    db.execute(f"DELETE FROM {TABLE} WHERE feature IN (?, ?, ?)", MOVED)
    db.executemany(f"INSERT INTO {TABLE} (feature, version, name) VALUES (?, ?, ?)",
                   _as_core(CORE_SQLITE))
    db.close()

    store = SQLiteStore(path)
    await store.open()  # would fail creating the inbox again
    try:
        assert [i.id for i in await store.pending()] == [ITEM.id]
    finally:
        await store.close()
    recorded = _sqlite_steps(path)
    assert not [f for f, _ in recorded if f == "core"]
    assert sorted(recorded) == sorted((s.feature, s.version) for s in SQLITE)


async def test_a_postgres_database_with_the_core_feature_renames_it_in_place(
        pg_url: str) -> None:
    store = PostgresStore(pg_url, max_size=2)
    await store.open()
    await store.record_inbound(ITEM)
    await store.close()
    with psycopg.connect(pg_url, autocommit=True) as conn:
        conn.execute(f"DELETE FROM {TABLE} WHERE feature = ANY(%s)", (list(MOVED),))
        for row in _as_core(CORE_POSTGRES):
            conn.execute(f"INSERT INTO {TABLE} (feature, version, name) VALUES (%s, %s, %s)",
                         row)

    store = PostgresStore(pg_url, max_size=2)
    await store.open()
    try:
        assert [i.id for i in await store.pending()] == [ITEM.id]
    finally:
        await store.close()
    with psycopg.connect(pg_url) as conn:
        steps = [(str(r[0]), int(r[1])) for r in conn.execute(
            f"SELECT feature, version FROM {TABLE}").fetchall()]
    assert sorted(steps) == sorted((s.feature, s.version) for s in POSTGRES)
