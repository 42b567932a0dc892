""":class:`core.channel_state.ChannelState` in PostgreSQL, shared by every replica."""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from core.channel_state import check_key


class PostgresChannelState:
    """The values of one channel (``scope = "<channel>/<bot>"``) in ``channel_state``."""

    def __init__(self, pool: AsyncConnectionPool, scope: str) -> None:
        self._pool = pool
        self.scope = scope

    async def get(self, key: str) -> bytes | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT value FROM channel_state WHERE scope = %s AND key = %s",
                (self.scope, check_key(key)))
            row = await cur.fetchone()
        return None if row is None else bytes(row[0])

    async def put(self, key: str, value: bytes) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO channel_state (scope, key, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (scope, key) DO UPDATE"
                " SET value = EXCLUDED.value, updated_at = now()",
                (self.scope, check_key(key), value))

    async def add(self, key: str, value: bytes) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "INSERT INTO channel_state (scope, key, value) VALUES (%s, %s, %s)"
                " ON CONFLICT (scope, key) DO NOTHING RETURNING 1",
                (self.scope, check_key(key), value))
            return await cur.fetchone() is not None

    async def delete(self, key: str) -> None:
        async with self._pool.connection() as conn:
            await conn.execute("DELETE FROM channel_state WHERE scope = %s AND key = %s",
                               (self.scope, check_key(key)))
