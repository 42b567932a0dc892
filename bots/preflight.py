"""Checks before anything starts, so a newcomer's mistake is one line and exit code 2."""

from __future__ import annotations

import importlib
import socket
import sqlite3
import tempfile
from pathlib import Path
from types import ModuleType

from core.settings import ConfigError, Settings

DB_NAME = "kith.sqlite3"
POSTGRES_EXTRA = "pip install 'kith[postgres]'"
DRIVER_MODULES = ("psycopg", "psycopg_pool", "psycopg_binary", "psycopg_c", "pgvector")


def data_dir(path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"KITH_DATA_DIR: {path} exists and is not a directory")
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as err:
        raise ConfigError(f"KITH_DATA_DIR: cannot write to {path} ({err.strerror}); "
                          "choose a directory you own") from None


def database(path: Path) -> None:
    db = path / DB_NAME
    if not db.exists():
        return
    try:
        conn = sqlite3.connect(db)
        try:
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            conn.close()
    except sqlite3.DatabaseError as err:
        raise ConfigError(f"KITH_DATA_DIR: {db} is not a readable Kith database ({err}); "
                          "move it away to start afresh, or restore a backup") from None


def gateway_socket(settings: Settings) -> socket.socket:
    """The gateway's listening socket, bound now so a busy port is a clear error."""
    host, port = settings.gateway.host, settings.gateway.port
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise ConfigError(f"KITH_GATEWAY__PORT: cannot listen on {host}:{port} "
                          f"({err.strerror}); another program uses it — stop it or set "
                          "KITH_GATEWAY__PORT to a free port") from None
    return sock


def storage(settings: Settings) -> None:
    data_dir(settings.data_dir)
    if settings.database_url is None:
        database(settings.data_dir)


def postgres(module: str) -> ModuleType:
    """``core.store.postgres.<module>``; a missing ``postgres`` extra is one line."""
    try:
        return importlib.import_module(f"core.store.postgres.{module}")
    except ImportError as err:
        missing = err.name.split(".")[0] if err.name else ""
        if isinstance(err, ModuleNotFoundError) and missing not in DRIVER_MODULES:
            raise
        raise ConfigError(f"KITH_DATABASE_URL is set, but the PostgreSQL driver is not "
                          f"installed ({missing or err}): {POSTGRES_EXTRA}") from None


async def migrate_database(settings: Settings) -> list[str]:
    """Apply the PostgreSQL migrations this database lacks (every replica does it at start;
    ``kith migrate`` does it alone). Unreachable: one line, no password."""
    assert settings.database_url is not None
    connect = postgres("connect")
    try:
        applied: list[str] = await connect.migrate_url(settings.database_url.get_secret_value())
    except connect.DatabaseUnavailable as err:
        raise ConfigError(f"KITH_DATABASE_URL: {err}") from None
    return applied
