"""The actions table, on both backends."""

from __future__ import annotations

from core.db.schema import PersonRows, Step

# proposed and done actions follow a person whose identities merge
PERSON_TABLES = (PersonRows("actions"),)

SQLITE: tuple[Step, ...] = (
    # durable side-effect actions, keyed by (inbound id, call index) (core/actions)
    Step("actions", 1, "actions", """
CREATE TABLE actions (
    inbound_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    tool TEXT NOT NULL,
    args TEXT NOT NULL,
    state TEXT NOT NULL,
    summary TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at REAL NOT NULL,
    expires_at REAL NOT NULL,
    started INTEGER NOT NULL DEFAULT 0,
    result TEXT NOT NULL DEFAULT '',
    notice TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (inbound_id, idx)
);
CREATE INDEX actions_proposed ON actions(conversation, person_id) WHERE state = 'proposed';
""", was=14),
)

POSTGRES: tuple[Step, ...] = (
    Step("actions", 1, "actions", """
CREATE TABLE actions (
    inbound_id TEXT NOT NULL,
    idx INTEGER NOT NULL,
    person_id TEXT NOT NULL,
    conversation TEXT NOT NULL,
    tool TEXT NOT NULL,
    args TEXT NOT NULL,
    state TEXT NOT NULL,
    summary TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    started BOOLEAN NOT NULL DEFAULT FALSE,
    result TEXT NOT NULL DEFAULT '',
    notice TEXT NOT NULL DEFAULT '',
    decided_by TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (inbound_id, idx)
);
CREATE INDEX actions_proposed ON actions(conversation, person_id) WHERE state = 'proposed';
""", was="actions_001"),
)
