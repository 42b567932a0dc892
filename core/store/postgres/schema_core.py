"""PostgreSQL schema: inbox, delivery state, conversations, turns, people, preferences, pairing.

Append-only (name, sql) pairs."""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = ()
