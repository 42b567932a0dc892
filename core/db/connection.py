"""What the SQLite roles of the feature packages share: the Store's one connection.

The inbox, conversations and people roles are mixed into ``core.store.sqlite.SQLiteStore``,
which opens the connection and closes it; each role reads it through :attr:`db`.
"""

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
