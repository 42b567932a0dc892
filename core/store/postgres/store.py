"""PostgreSQL Store: every role of :mod:`core.store.base` on one database shared by replicas.

The inbox, people and conversations roles are mixed in from their packages
(``core.inbox.postgres`` …), the commit of a finished turn across two of them from
``commit``; the other features' stores are attributes (``memories``, ``lists`` …).

A ``psycopg_pool.AsyncConnectionPool`` of autocommit connections: a single statement is one
round trip; statements that must commit together run in an explicit transaction (sent as
one pipeline where they do not read each other's results). ``open`` migrates first, from
one connection, under the migrations' advisory lock.
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

from core.actions.postgres import PostgresActionStore
from core.calendar.links_postgres import PostgresCalendarLinks
from core.conversations.postgres import PostgresConversations
from core.db.pool import OnPool
from core.inbox.postgres import PostgresInbox
from core.lists.postgres import PostgresListStore
from core.memory.postgres import PostgresMemoryStore
from core.offers.postgres import PostgresOfferStore
from core.people.postgres import PostgresPeople
from core.schedule.postgres import PostgresScheduleStore
from core.store.features import PERSON_TABLES
from core.store.postgres.commit import PostgresTurnCommit
from core.store.postgres.connect import CONNECT_TIMEOUT, DatabaseUnavailable, migrate_url, where
from core.store.postgres.transaction import OneConnection

HEALTH_TIMEOUT = 2.0  # seconds /readyz waits for a connection


async def _configure(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")  # timestamps come back in UTC, as SQLite's


class PostgresStore(PostgresInbox, PostgresPeople, PostgresConversations, PostgresTurnCommit):
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10,
                 timeout: float = 30.0) -> None:
        self._url = url
        self._in_transaction = False
        pool = AsyncConnectionPool(
            url, min_size=min_size, max_size=max_size, open=False, timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            configure=_configure, name="kith")
        self._compose(pool, PostgresScheduleStore(pool))

    def _compose(self, pool: AsyncConnectionPool, schedule: PostgresScheduleStore) -> None:
        """Every role on ``pool`` (the Store's, or one transaction's connection)."""
        OnPool.__init__(self, pool)
        self._schedule = schedule
        self._lists = PostgresListStore(pool)
        self._memories = PostgresMemoryStore(pool, follow=PERSON_TABLES)
        self._actions = PostgresActionStore(pool)
        self._offers = PostgresOfferStore(pool)
        self._calendar_links = PostgresCalendarLinks(pool)

    @asynccontextmanager
    async def atomically(self) -> AsyncIterator[PostgresStore]:
        """A Store on one transaction: what its roles write commits together, or not at all
        (an action's completion and its handler's rows)."""
        if self._in_transaction:
            raise RuntimeError("an action's transaction cannot nest in another")
        async with self._pool.connection() as conn, conn.transaction():
            bound = copy.copy(self)
            bound._in_transaction = True
            one = OneConnection(conn)
            bound._compose(one, self._schedule.on(one))  # the scheduler hears of its rows
            yield bound

    @property
    def url(self) -> str:
        """The database URL (a secret: it may hold a password)."""
        return self._url

    @property
    def memories(self) -> PostgresMemoryStore:
        return self._memories

    @property
    def schedule(self) -> PostgresScheduleStore:
        return self._schedule

    @property
    def lists(self) -> PostgresListStore:
        return self._lists

    @property
    def actions(self) -> PostgresActionStore:
        return self._actions

    @property
    def offers(self) -> PostgresOfferStore:
        return self._offers

    @property
    def calendar_links(self) -> PostgresCalendarLinks:
        return self._calendar_links

    async def open(self) -> None:
        await migrate_url(self._url)
        try:
            await self._pool.open(wait=True, timeout=CONNECT_TIMEOUT)
        except PoolTimeout:
            await self._pool.close()
            raise DatabaseUnavailable(
                f"cannot open connections to the database at {where(self._url)}") from None

    async def close(self) -> None:
        await self._pool.close()

    async def healthy(self) -> bool:
        try:
            async with self._pool.connection(timeout=HEALTH_TIMEOUT) as conn:
                await conn.execute("SELECT 1")
        except (psycopg.Error, PoolTimeout):
            return False
        return True
