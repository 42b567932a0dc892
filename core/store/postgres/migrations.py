"""Named, append-only schema migrations, applied once even when replicas start together.

Each role's schema lives in its own module as ``(name, sql)`` pairs; a database records
the names it has applied. Every replica runs :func:`migrate` at start: the first takes a
transaction-scoped advisory lock and applies what is missing, the others wait on the lock
and then find nothing to do. Never edit or reorder a shipped migration; append.
"""

from __future__ import annotations

import psycopg

from core.actions import schema as actions_schema
from core.calendar import links_store
from core.store.postgres import (
    schema_coord,
    schema_core,
    schema_history,
    schema_leader,
    schema_memory,
    schema_schedule,
)

Migration = tuple[str, str]
MIGRATIONS: tuple[Migration, ...] = (
    *schema_core.MIGRATIONS,
    *schema_memory.MIGRATIONS,
    *schema_schedule.MIGRATIONS,
    *schema_coord.MIGRATIONS,
    *schema_leader.MIGRATIONS,
    *schema_history.MIGRATIONS,
    *actions_schema.POSTGRES,
    *links_store.POSTGRES,
)
LOCK_KEY = 0x4B495448  # "KITH": the advisory lock every replica's migration waits on


def _check_names(migrations: tuple[Migration, ...]) -> None:
    names = [name for name, _ in migrations]
    if len(set(names)) != len(names):
        raise RuntimeError("duplicate migration names")


async def migrate(conn: psycopg.AsyncConnection[object],
                  migrations: tuple[Migration, ...] = MIGRATIONS) -> list[str]:
    """Apply what this database lacks, in one transaction; return the names applied."""
    _check_names(migrations)
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " name TEXT PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())"
        )
        cur = await conn.execute("SELECT name FROM schema_migrations")
        done = {str(row[0]) for row in await cur.fetchall()}  # type: ignore[index]
        for name, sql in migrations:
            if name in done:
                continue
            await conn.execute(sql.encode())
            await conn.execute("INSERT INTO schema_migrations (name) VALUES (%s)", (name,))
            applied_now.append(name)
    return applied_now
