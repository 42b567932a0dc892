"""PostgreSQL ListStore, on the store's connection pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from core.db.vacuum import vacuum
from core.ids import PersonId
from core.lists.model import ListItem, matching, new_items


class PostgresListStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def add_items(self, person_id: PersonId, name: str, items: Sequence[str],
                        now: datetime) -> list[str]:
        fresh = new_items(await self.items(person_id, name), items)
        if fresh:
            async with self._pool.connection() as conn:
                await conn.cursor().executemany(
                    "INSERT INTO list_items (person_id, list, item, created_at) "
                    "VALUES (%s, %s, %s, %s)", [(person_id, name, item, now) for item in fresh])
        return fresh

    async def items(self, person_id: PersonId, name: str | None = None,
                    include_done: bool = False) -> list[ListItem]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT list, item, done, created_at FROM list_items WHERE person_id = %s "
                "AND (%s::text IS NULL OR list = %s) AND (%s OR NOT done) ORDER BY list, n",
                (person_id, name, name, include_done))
            rows = await cur.fetchall()
        return [ListItem(str(r[0]), str(r[1]), bool(r[2]), r[3]) for r in rows]

    async def check_off(self, person_id: PersonId, name: str, items: Sequence[str]) -> list[str]:
        done = matching(await self.items(person_id, name), items)
        if done:
            async with self._pool.connection() as conn:
                await conn.execute(
                    "UPDATE list_items SET done = true WHERE person_id = %s AND list = %s "
                    "AND item = ANY(%s)", (person_id, name, done))
        return done

    async def delete_person(self, person_id: PersonId) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute("DELETE FROM list_items WHERE person_id = %s",
                                     (person_id,))
            count = cur.rowcount
            await vacuum(conn, ("list_items",))
        return count

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "DELETE FROM list_items WHERE person_id = %s "
                "AND strpos(lower(item), lower(%s)) > 0", (person_id, words))
            count = cur.rowcount
            await vacuum(conn, ("list_items",))
        return count
