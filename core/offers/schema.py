"""The offers table, on both backends (per-feature steps, composed in core.store.features).

No words of the person are kept here beyond the short ``what`` of the offer; declines are
not copied: they are read from the offer's action (``actions.state``), the one record.
"""

from __future__ import annotations

from core.db.schema import PersonRows, Step

# an offer follows a person whose identities merge; one both were made stays the merged one's
PERSON_TABLES = (PersonRows("offers", unique=("fingerprint",)),)

SQLITE: tuple[Step, ...] = (Step("offers", 1, "offers", """
CREATE TABLE offers (
    person_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    kind TEXT NOT NULL,
    what TEXT NOT NULL,
    due_at REAL NOT NULL,
    timed INTEGER NOT NULL,
    conversation TEXT NOT NULL,
    source TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at REAL NOT NULL,
    offered_at REAL,
    action TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (person_id, fingerprint)
);
CREATE INDEX offers_schedule ON offers(schedule_id);
CREATE INDEX offers_offered ON offers(person_id, offered_at) WHERE state = 'offered';
"""),)

POSTGRES: tuple[Step, ...] = (Step("offers", 1, "offers", """
CREATE TABLE offers (
    person_id TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    kind TEXT NOT NULL,
    what TEXT NOT NULL,
    due_at TIMESTAMPTZ NOT NULL,
    timed BOOLEAN NOT NULL,
    conversation TEXT NOT NULL,
    source TEXT NOT NULL,
    schedule_id TEXT NOT NULL,
    state TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    offered_at TIMESTAMPTZ,
    action TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (person_id, fingerprint)
);
CREATE INDEX offers_schedule ON offers(schedule_id);
CREATE INDEX offers_offered ON offers(person_id, offered_at) WHERE state = 'offered';
"""),)
