"""PostgreSQL schema: what single-consumer channels hand to their successor. Append-only.

``channel_state`` holds a channel's small durable values (a Matrix sync token, session and
device key store; mail spooled for delivery) under ``scope = "<channel>/<bot>"``, so any
replica that leads or delivers for that channel finds them.
"""

from __future__ import annotations

from core.db.schema import Step

MIGRATIONS: tuple[Step, ...] = (
    Step("leader", 1, "channel-state", """
CREATE TABLE channel_state (
    scope TEXT NOT NULL,
    key TEXT NOT NULL,
    value BYTEA NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
    PRIMARY KEY (scope, key)
);
""", was="leader/1-channel-state"),
)
