"""VACUUM after a person's words are deleted.

A DELETE in PostgreSQL only marks rows dead: the row versions stay in the table's pages,
and index entries keep pointing at them, until a VACUUM removes both (autovacuum does it
eventually). After a /forget we run it at once, for the touched tables. VACUUM cannot run in
a transaction block, so it runs after the delete committed, on a connection in autocommit
mode (the pool's are). It cannot remove rows an older snapshot may still see (a long
transaction elsewhere), and it leaves the freed space in the table's files to be reused,
not zeroed; WAL and base backups keep their copies until they age out.
"""

from __future__ import annotations

import time
from collections.abc import Iterable

import psycopg
from psycopg import sql

from core.logging import get_logger

log = get_logger("kith.store")


async def vacuum(conn: psycopg.AsyncConnection[tuple[object, ...]],
                 tables: Iterable[str]) -> bool:
    """VACUUM ``tables`` (names from our schema, never from input); False when it could not
    (it is logged: autovacuum still gets there)."""
    names = list(tables)
    started = time.perf_counter()
    statement = sql.SQL("VACUUM {}").format(sql.SQL(", ").join(map(sql.Identifier, names)))
    try:
        await conn.execute(statement)
    except psycopg.Error as err:
        log.warning("vacuum_failed", tables=names, error=type(err).__name__)
        return False
    log.info("vacuumed", tables=names, ms=round((time.perf_counter() - started) * 1000, 1))
    return True
