"""One transaction seen as a pool: every role built on it runs its statements there.

``PostgresStore.atomically`` opens a transaction on one of the pool's connections and gives
the caller a Store whose roles are built on :class:`OneConnection` instead of the pool, so
an action's completion and the rows its handler writes (a reminder, a list item) commit
together, or not at all. The connection is an explicit value the roles were built with,
not something a task carries.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool


class OneConnection(AsyncConnectionPool):
    """A pool that is one open connection in a transaction: ``connection()`` lends it.

    Never opened as a pool (it makes no connection of its own); the transaction's owner
    commits or rolls back and returns the connection to the real pool.
    """

    def __init__(self, conn: psycopg.AsyncConnection[Any]) -> None:
        super().__init__("", open=False, min_size=1, max_size=1, name="kith-transaction")
        self._conn = conn

    @asynccontextmanager
    async def connection(
        self, timeout: float | None = None,  # noqa: ASYNC109 (the pool's own signature)
    ) -> AsyncIterator[Any]:
        yield self._conn
