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
    # a lease released and the conversation's open messages read after it, in one round
    # trip: a volatile function's every query takes a fresh snapshot, so a message recorded
    # while the lease was held is read here, or its recorder takes the lease after this
    Step("coord", 2, "let-go", """
    CREATE FUNCTION kith_let_go(lease_conversation TEXT, lease_owner BIGINT)
    RETURNS SETOF TEXT LANGUAGE plpgsql VOLATILE AS $$
    BEGIN
        DELETE FROM turn_leases
        WHERE conversation = lease_conversation AND owner = lease_owner;
        RETURN QUERY SELECT payload FROM inbox WHERE conversation = lease_conversation
            AND status IN ('pending', 'answered', 'held') ORDER BY seq;
    END $$;
    """),
)
