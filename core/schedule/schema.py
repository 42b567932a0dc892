"""The schedule feature's schema on both backends: scheduled turns, fired occurrences.

On PostgreSQL ``due_at`` is a ``TIMESTAMPTZ`` (UTC instant) and ``anchor`` a
``TIMESTAMP`` (the naive local time a rule starts from).
"""

from __future__ import annotations

from core.db.schema import PersonRows, Step

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

# rows that follow a person whose identities merge
PERSON_TABLES = (PersonRows("schedules"),)

POSTGRES: tuple[Step, ...] = (
    Step("schedule", 1, "schedules", _SCHEDULES, was="schedule/1-schedules"),
)

SQLITE: tuple[Step, ...] = (
    # scheduled turns (reminders, briefings), their fired occurrences, per-person lists
    Step("schedule", 1, "schedules", """
    CREATE TABLE schedules (
        id TEXT PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        kind TEXT NOT NULL,
        conversation TEXT NOT NULL,
        origin TEXT NOT NULL,
        text TEXT NOT NULL,
        timezone TEXT NOT NULL,
        rule TEXT,
        anchor TEXT NOT NULL,
        due_at REAL NOT NULL,
        active INTEGER NOT NULL DEFAULT 1,
        created_at TEXT NOT NULL
    );
    CREATE INDEX schedules_due ON schedules(due_at) WHERE active = 1;
    CREATE INDEX schedules_person ON schedules(person_id, kind);
    CREATE TABLE schedule_fired (
        rowid INTEGER PRIMARY KEY,
        inbound_id TEXT NOT NULL UNIQUE,
        schedule_id TEXT NOT NULL,
        payload TEXT NOT NULL,
        submitted INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX schedule_fired_open ON schedule_fired(submitted) WHERE submitted = 0;
""", was=7),
)

