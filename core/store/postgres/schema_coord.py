"""PostgreSQL schema: turn leases across replicas.

Append-only steps (PostgreSQL only). A lease row says which replica runs a conversation's turns;
``owner`` is that replica's presence key, a session advisory lock it holds for as long as
it lives, so a lease whose owner died is free at once (``until`` bounds a leaked one).
"""

from __future__ import annotations

from core.db.schema import Step

MIGRATIONS: tuple[Step, ...] = (
    Step("coord", 1, "turn-leases", """
    CREATE TABLE turn_leases (
        conversation TEXT PRIMARY KEY,
        owner BIGINT NOT NULL,
        until TIMESTAMPTZ NOT NULL
    );
    CREATE INDEX turn_leases_owner ON turn_leases (owner);
    """, was="coord/1-turn-leases"),
)
