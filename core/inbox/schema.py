"""The inbox feature's tables (a message and its delivery state), on both backends.

SQLite keeps arrival order in ``rowid``; PostgreSQL in an identity column ``seq`` (never
reused), ``TIMESTAMPTZ`` where SQLite keeps ISO text, ``TEXT[]`` for the platform ids SQLite
keeps as JSON. These steps were the "core" feature's (``formerly``) until the inbox became
a package of its own; their SQL is as it shipped.
"""

from __future__ import annotations

from core.db.schema import Step

OPEN = "status IN ('pending', 'answered', 'held')"  # the inbox rows a replica resumes

SQLITE: tuple[Step, ...] = (
    # the inbox: every message, recorded before it is acknowledged
    Step("inbox", 1, "inbox", """
    CREATE TABLE inbox (
        rowid INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        conversation TEXT NOT NULL,
        payload TEXT NOT NULL,
        status TEXT NOT NULL DEFAULT 'pending',
        received_at TEXT NOT NULL
    );
    CREATE INDEX inbox_pending ON inbox(status) WHERE status = 'pending';
    CREATE INDEX inbox_conversation ON inbox(conversation);
""", was=1, formerly=("core", 1)),
    # delivery state next to the inbox: the stored answer, the platform's message ids
    Step("inbox", 2, "delivery", """
    ALTER TABLE inbox ADD COLUMN reply TEXT;
    ALTER TABLE inbox ADD COLUMN reply_status TEXT;
    ALTER TABLE inbox ADD COLUMN platform_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE inbox ADD COLUMN answered_at TEXT;
    ALTER TABLE inbox ADD COLUMN held_since TEXT;
    CREATE INDEX inbox_open ON inbox(rowid) WHERE status IN ('pending', 'answered', 'held');
    """, was=6, formerly=("core", 3)),
)

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

POSTGRES: tuple[Step, ...] = (
    Step("inbox", 1, "inbox", _INBOX, was="core/1-inbox", formerly=("core", 1)),
)
