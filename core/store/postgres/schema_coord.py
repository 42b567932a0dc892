"""PostgreSQL schema: turn leases across replicas. Append-only (name, sql) pairs."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = ()
