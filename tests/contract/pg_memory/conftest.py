"""The memory contracts on PostgreSQL, before the PostgreSQL Store lands.

A stand-in for the core roles the memory tests touch (people, preferences, finished turns)
on the real core tables, and the real :class:`PostgresMemoryStore` on the same pool.
Replaced by the shared ``store`` fixture once ``PostgresStore`` is in main.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest
from psycopg_pool import AsyncConnectionPool

from core.events import Sender
from core.store.base import TurnRecord
from core.store.postgres import schema_memory
from core.store.postgres.memory import PostgresMemoryStore
from core.store.postgres.migrations import migrate

CORE = ("test/0-core", """
CREATE TABLE people (id TEXT PRIMARY KEY, created_at TIMESTAMPTZ NOT NULL);
CREATE TABLE identities (
    channel TEXT NOT NULL, platform_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL DEFAULT '', PRIMARY KEY (channel, platform_id));
CREATE TABLE preferences (
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    key TEXT NOT NULL, value TEXT NOT NULL, updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, key));
CREATE TABLE inbox (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE, conversation TEXT NOT NULL, payload TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'pending');
CREATE TABLE conversations (key TEXT PRIMARY KEY, epoch INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '', summary_upto BIGINT NOT NULL DEFAULT 0);
CREATE TABLE turns (seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation TEXT NOT NULL, epoch INTEGER NOT NULL DEFAULT 0, role TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '', person_id TEXT, inbound_id TEXT, text TEXT NOT NULL,
    tokens INTEGER NOT NULL DEFAULT 0, created_at TIMESTAMPTZ NOT NULL,
    command BOOLEAN NOT NULL DEFAULT false);
CREATE TABLE schedules (id TEXT PRIMARY KEY, person_id TEXT NOT NULL);
CREATE TABLE list_items (n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id TEXT NOT NULL);
""")


class CoreStandIn:
    def __init__(self, pool: AsyncConnectionPool[Any]) -> None:
        self._pool = pool
        self.memories = PostgresMemoryStore(pool)

    async def person_for(self, channel: str, sender: Sender) -> str:
        async with self._pool.connection() as conn, conn.transaction():
            cur = await conn.execute(
                "SELECT person_id FROM identities WHERE channel = %s AND platform_id = %s",
                (channel, sender.platform_id))
            row = await cur.fetchone()
            if row:
                return str(row[0])
            person = uuid.uuid4().hex
            await conn.execute("INSERT INTO people (id, created_at) VALUES (%s, now())",
                               (person,))
            await conn.execute(
                "INSERT INTO identities (channel, platform_id, person_id, display_name) "
                "VALUES (%s, %s, %s, %s)", (channel, sender.platform_id, person,
                                            sender.display_name))
            return person

    async def preferences(self, person_id: str) -> dict[str, str]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT key, value FROM preferences WHERE person_id = %s", (person_id,))
            return {str(k): str(v) for k, v in await cur.fetchall()}

    async def set_preference(self, person_id: str, key: str, value: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO preferences VALUES (%s, %s, %s, now()) ON CONFLICT (person_id, key)"
                " DO UPDATE SET value = excluded.value", (person_id, key, value))

    async def finish_turn(self, record: TurnRecord) -> None:
        item, key = record.inbound, str(record.inbound.conversation)
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("INSERT INTO inbox (id, conversation, status) VALUES (%s, %s, %s)"
                               " ON CONFLICT (id) DO UPDATE SET status = excluded.status",
                               (item.id, key, record.status.value))
            if record.user_text is not None:
                await conn.execute(
                    "INSERT INTO turns (conversation, role, person_id, inbound_id, text, "
                    "created_at, command) VALUES (%s, 'user', %s, %s, %s, %s, %s)",
                    (key, record.person_id, item.id, record.user_text, item.received_at,
                     record.command))
            if record.reply_text is not None:
                await conn.execute(
                    "INSERT INTO turns (conversation, role, inbound_id, text, created_at, "
                    "command) VALUES (%s, 'assistant', %s, %s, now(), %s)",
                    (key, item.id, record.reply_text, record.command))


@pytest.fixture
async def store(pg_url: str) -> AsyncIterator[CoreStandIn]:
    pool: AsyncConnectionPool[Any] = AsyncConnectionPool(pg_url, min_size=1, max_size=4,
                                                         open=False)
    await pool.open(wait=True)
    async with pool.connection() as conn:
        await migrate(conn, (CORE, *schema_memory.MIGRATIONS))
    try:
        yield CoreStandIn(pool)
    finally:
        await pool.close()
