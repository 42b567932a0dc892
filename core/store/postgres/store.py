"""PostgreSQL Store: every role of :mod:`core.store.base` on one database shared by replicas.

A ``psycopg_pool.AsyncConnectionPool`` of autocommit connections: a single statement is one
round trip; statements that must commit together run in an explicit transaction (sent as
one pipeline where they do not read each other's results). ``open`` migrates first, from
one connection, under the migrations' advisory lock.
"""

from __future__ import annotations

import psycopg
from psycopg_pool import PoolTimeout

from core.actions.postgres import BoundPool, PostgresActionStore
from core.calendar.links_postgres import PostgresCalendarLinks
from core.store.postgres.connect import CONNECT_TIMEOUT, DatabaseUnavailable, migrate_url, where
from core.store.postgres.conversations import PostgresConversations
from core.store.postgres.inbox import OnPool, PostgresInbox
from core.store.postgres.memory import PostgresMemoryStore
from core.store.postgres.people import PostgresPeople
from core.store.postgres.schedule import PostgresListStore, PostgresScheduleStore

HEALTH_TIMEOUT = 2.0  # seconds /readyz waits for a connection


async def _configure(conn: psycopg.AsyncConnection[tuple[object, ...]]) -> None:
    await conn.execute("SET TIME ZONE 'UTC'")  # timestamps come back in UTC, as SQLite's


class PostgresStore(PostgresInbox, PostgresPeople, PostgresConversations):
    def __init__(self, url: str, *, min_size: int = 1, max_size: int = 10,
                 timeout: float = 30.0) -> None:
        self._url = url
        pool = BoundPool(  # a turn's action transaction reaches every role
            url, min_size=min_size, max_size=max_size, open=False, timeout=timeout,
            kwargs={"autocommit": True, "connect_timeout": CONNECT_TIMEOUT},
            configure=_configure, name="kith")
        OnPool.__init__(self, pool)
        self._schedule = PostgresScheduleStore(pool)
        self._lists = PostgresListStore(pool)
        self._memories = PostgresMemoryStore(pool)
        self._actions = PostgresActionStore(pool)
        self._calendar_links = PostgresCalendarLinks(pool)

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
