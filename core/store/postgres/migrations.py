"""The per-feature migrations (:mod:`core.store.migrate`) on PostgreSQL, applied once even
when replicas start together.

Every replica runs :func:`migrate` at start: the first takes a transaction-scoped advisory
lock and applies what is missing, the others wait on the lock and then find nothing to do.
"""

from __future__ import annotations

from collections.abc import Sequence

import psycopg

from core.db.schema import Step
from core.store.features import POSTGRES
from core.store.migrate import TABLE, adopted, check, missing, moved, retired

MIGRATIONS: tuple[Step, ...] = POSTGRES
LOCK_KEY = 0x4B495448  # "KITH": the advisory lock every replica's migration waits on


async def _exists(conn: psycopg.AsyncConnection[object], table: str) -> bool:
    cur = await conn.execute("SELECT to_regclass(%s) IS NOT NULL", (table,))
    row = await cur.fetchone()
    return bool(row and row[0])  # type: ignore[index]


async def migrate(conn: psycopg.AsyncConnection[object],
                  migrations: Sequence[Step] = MIGRATIONS) -> list[str]:
    """Apply what this database lacks, in one transaction; return the names applied."""
    check(migrations)
    record = f"INSERT INTO {TABLE} (feature, version, name) VALUES (%s, %s, %s)"
    applied_now: list[str] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        if not await _exists(conn, TABLE):
            legacy: set[str] = set()
            if await _exists(conn, "schema_migrations"):  # made before per-feature steps
                cur = await conn.execute("SELECT name FROM schema_migrations")
                legacy = {str(row[0]) for row in await cur.fetchall()}  # type: ignore[index]
            await conn.execute(
                f"CREATE TABLE {TABLE} (feature TEXT NOT NULL, version INTEGER NOT NULL, "
                "name TEXT NOT NULL, applied_at TIMESTAMPTZ NOT NULL DEFAULT now(), "
                "PRIMARY KEY (feature, version))")
            # all the old list has, even when this run applies only a few features
            for step in adopted(dict.fromkeys((*MIGRATIONS, *migrations)), legacy):
                await conn.execute(record, (step.feature, step.version, step.name))
        cur = await conn.execute(f"SELECT feature, version FROM {TABLE}")
        applied = {(str(r[0]), int(r[1])) for r in await cur.fetchall()}  # type: ignore[index]
        renamed = moved(dict.fromkeys((*MIGRATIONS, *migrations)), applied)
        for step in renamed:  # recorded before it moved to its feature: rename, never re-run
            await conn.execute(record, (step.feature, step.version, step.name))
            applied.add((step.feature, step.version))
        for old in retired(renamed):
            await conn.execute(f"DELETE FROM {TABLE} WHERE feature = %s AND version = %s", old)
            applied.discard(old)
        for step in missing(migrations, applied):
            await conn.execute(step.sql.encode())
            await conn.execute(record, (step.feature, step.version, step.name))
            applied_now.append(step.name)
    return applied_now
