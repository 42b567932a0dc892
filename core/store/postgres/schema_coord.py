"""PostgreSQL schema: turn leases across replicas.

Append-only (name, sql) pairs. A lease row says which replica runs a conversation's turns;
``owner`` is that replica's presence key, a session advisory lock it holds for as long as
it lives, so a lease whose owner died is free at once (``until`` bounds a leaked one).
"""

from __future__ import annotations

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("coord/1-turn-leases", """
    CREATE TABLE turn_leases (
        conversation TEXT PRIMARY KEY,
        owner BIGINT NOT NULL,
        until TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX turn_leases_owner ON turn_leases (owner);
    """),
)
