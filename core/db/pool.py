"""What the PostgreSQL roles of the feature packages share: the Store's connection pool.

The inbox, conversations and people roles are mixed into
``core.store.postgres.store.PostgresStore``, which builds them on its pool (or on one
transaction's connection, see ``core.store.postgres.transaction``).
"""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool


class OnPool:
    """A role on the store's connection pool."""

    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    @property
    def pool(self) -> AsyncConnectionPool:
        return self._pool
