"""PostgreSQL schema: scheduled turns and lists. Append-only (name, sql) pairs."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = ()
