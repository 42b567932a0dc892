"""PostgreSQL schema: memories (full text + pgvector), identities, link codes, the learning queue.

Append-only (name, sql) pairs."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = ()
