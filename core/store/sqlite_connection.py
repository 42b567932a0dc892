"""What the SQLite Store's roles share: the one connection, opened by the Store."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime


def now_iso() -> str:
    return datetime.now(UTC).isoformat()


class OnConnection:
    """A role on the Store's connection (``SQLiteStore`` opens and closes it)."""

    _db: sqlite3.Connection | None = None

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db
