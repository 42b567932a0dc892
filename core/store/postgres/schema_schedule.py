"""PostgreSQL schema: scheduled turns. Append-only (name, sql) pairs.

Mirrors the SQLite tables; ``due_at`` is a ``TIMESTAMPTZ`` (UTC instant) and ``anchor`` a
``TIMESTAMP`` (the naive local time a rule starts from).
"""

from __future__ import annotations

_SCHEDULES = """
CREATE TABLE schedules (
    id TEXT PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    conversation TEXT NOT NULL,
    origin TEXT NOT NULL,
    text TEXT NOT NULL,
    timezone TEXT NOT NULL,
    rule TEXT,
    anchor TIMESTAMP NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    active BOOLEAN NOT NULL DEFAULT true,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX schedules_due ON schedules (due_at) WHERE active;
CREATE INDEX schedules_person ON schedules (person_id, kind);
CREATE TABLE schedule_fired (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    inbound_id TEXT NOT NULL UNIQUE,
    schedule_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    submitted BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX schedule_fired_open ON schedule_fired (seq) WHERE NOT submitted;
CREATE INDEX schedule_fired_schedule ON schedule_fired (schedule_id);
"""

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("schedule/1-schedules", _SCHEDULES),
)
