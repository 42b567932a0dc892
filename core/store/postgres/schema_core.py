"""PostgreSQL schema: inbox, delivery state, conversations, turns, people, preferences, pairing.

The "core" feature's steps on PostgreSQL (append-only). Tables and columns mirror the
SQLite schema (:mod:`core.store.schema_core`), with PostgreSQL types: ``TIMESTAMPTZ`` where
SQLite keeps ISO text, ``BOOLEAN`` for its 0/1 flags, ``TEXT[]`` for the platform ids it
keeps as JSON. Rows that SQLite orders by ``rowid`` are ordered here by an identity column
(``seq``), which never reuses a value.
"""

from __future__ import annotations

from core.db.schema import Step

OPEN = "status IN ('pending', 'answered', 'held')"  # the inbox rows a replica resumes

_INBOX = f"""
CREATE TABLE inbox (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    conversation TEXT NOT NULL,
    payload TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'pending',
    received_at TIMESTAMPTZ NOT NULL,
    reply TEXT,
    reply_status TEXT,
    platform_ids TEXT[] NOT NULL DEFAULT '{{}}',
    answered_at TIMESTAMPTZ,
    held_since TIMESTAMPTZ
);
CREATE INDEX inbox_open ON inbox (seq) WHERE {OPEN};
CREATE INDEX inbox_open_in ON inbox (conversation, seq) WHERE {OPEN};
CREATE INDEX inbox_conversation ON inbox (conversation);
"""

_CONVERSATIONS = """
CREATE TABLE conversations (
    key TEXT PRIMARY KEY,
    epoch INTEGER NOT NULL DEFAULT 0,
    summary TEXT NOT NULL DEFAULT '',
    summary_upto BIGINT NOT NULL DEFAULT 0,
    updated_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE turns (
    seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    conversation TEXT NOT NULL,
    epoch INTEGER NOT NULL,
    role TEXT NOT NULL,
    author TEXT NOT NULL DEFAULT '',
    person_id TEXT,
    inbound_id TEXT,
    text TEXT NOT NULL,
    tokens INTEGER NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    command BOOLEAN NOT NULL DEFAULT false,
    quoted TEXT NOT NULL DEFAULT '',
    read_quoted BOOLEAN NOT NULL DEFAULT false
);
CREATE INDEX turns_conversation ON turns (conversation, epoch, seq);
"""

_PEOPLE = """
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE identities (
    channel TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel, platform_id)
);
CREATE INDEX identities_person ON identities (person_id);
CREATE TABLE preferences (
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, key)
);
CREATE TABLE pairings (
    bot TEXT NOT NULL,
    channel TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL,
    approved BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bot, channel, platform_id)
);
CREATE UNIQUE INDEX pairings_code ON pairings (bot, code);
"""

# provenance and tool traces on turns, the summary's origin (SQLite's core step 6)
_PROVENANCE = """
ALTER TABLE turns ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE turns ADD COLUMN trace TEXT NOT NULL DEFAULT '';
UPDATE turns SET origin = CASE WHEN read_quoted THEN 'quote'
                               WHEN role = 'user' THEN 'person' ELSE 'kith' END;
ALTER TABLE conversations ADD COLUMN summary_origin TEXT NOT NULL DEFAULT 'kith';
UPDATE conversations c SET summary_origin = 'quote' WHERE EXISTS (
    SELECT 1 FROM turns t WHERE t.conversation = c.key AND t.epoch = c.epoch
    AND t.read_quoted AND t.seq <= c.summary_upto);
"""

POSTGRES: tuple[Step, ...] = (
    Step("core", 1, "inbox", _INBOX, was="core/1-inbox"),
    Step("core", 2, "conversations", _CONVERSATIONS, was="core/2-conversations"),
    Step("core", 3, "people", _PEOPLE, was="core/3-people"),
    Step("core", 4, "provenance", _PROVENANCE, was="history/1-provenance"),
)
