"""Versioned schema migrations for the SQLite store. Append; never edit a shipped one."""

from __future__ import annotations

MIGRATIONS: tuple[str, ...] = (
    # 1: inbox, conversations, turns, people, preferences
    """
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
    CREATE TABLE conversations (
        key TEXT PRIMARY KEY,
        epoch INTEGER NOT NULL DEFAULT 0,
        summary TEXT NOT NULL DEFAULT '',
        summary_upto INTEGER NOT NULL DEFAULT 0,
        updated_at TEXT NOT NULL
    );
    CREATE TABLE turns (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        conversation TEXT NOT NULL,
        epoch INTEGER NOT NULL,
        role TEXT NOT NULL,
        author TEXT NOT NULL DEFAULT '',
        person_id TEXT,
        inbound_id TEXT,
        text TEXT NOT NULL,
        tokens INTEGER NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE INDEX turns_conversation ON turns(conversation, epoch, seq);
    CREATE TABLE people (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE identities (
        channel TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        display_name TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (channel, platform_id)
    );
    CREATE TABLE preferences (
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (person_id, key)
    );
    """,
    # 2: pairing of unknown senders, approved by the owner
    """
    CREATE TABLE pairings (
        bot TEXT NOT NULL,
        channel TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        code TEXT NOT NULL,
        approved INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        PRIMARY KEY (bot, channel, platform_id)
    );
    CREATE UNIQUE INDEX pairings_code ON pairings(bot, code);
    """,
)
