"""Connecting to PostgreSQL: migrations from one connection, and errors people can read.

A database URL may hold a password. It never appears in an error or a log line: messages
name the server as ``host:port/dbname`` and any text from the server or libpq has the
password removed.
"""

from __future__ import annotations

import psycopg
from psycopg.conninfo import conninfo_to_dict

from core.db.schema import Step
from core.store.postgres.migrations import MIGRATIONS, migrate

CONNECT_TIMEOUT = 10  # seconds to reach the server at start


class DatabaseUnavailable(Exception):
    """The database cannot be reached or migrated; the message is one safe line."""


def _parts(url: str) -> dict[str, object]:
    try:
        return dict(conninfo_to_dict(url))
    except psycopg.ProgrammingError:
        return {}


def where(url: str) -> str:
    """``host:port/dbname`` of ``url``, without user or password."""
    parts = _parts(url)
    host = str(parts.get("host") or "localhost")
    port = str(parts.get("port") or "5432")
    return f"{host}:{port}/{parts.get('dbname') or ''}"


def redact(text: str, url: str) -> str:
    password = _parts(url).get("password")
    for secret in (url, str(password) if password else ""):
        if secret:
            text = text.replace(secret, "***")
    return text


def describe(err: BaseException, url: str) -> str:
    """The first line of a driver error, with the password taken out."""
    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    return redact(lines[0] if lines else type(err).__name__, url)


async def connect(url: str) -> psycopg.AsyncConnection[tuple[object, ...]]:
    try:
        return await psycopg.AsyncConnection.connect(
            url, autocommit=True, connect_timeout=CONNECT_TIMEOUT)
    except (psycopg.Error, OSError) as err:
        raise DatabaseUnavailable(
            f"cannot connect to the database at {where(url)}: {describe(err, url)}") from None


async def migrate_url(url: str, migrations: tuple[Step, ...] = MIGRATIONS) -> list[str]:
    """Apply what the database lacks (safe when several replicas do it at once)."""
    conn = await connect(url)
    try:
        return await migrate(conn, migrations)
    except psycopg.Error as err:
        raise DatabaseUnavailable(
            f"cannot migrate the database at {where(url)}: {describe(err, url)}") from None
    finally:
        await conn.close()
