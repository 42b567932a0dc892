"""The SQLite schema of the inbox, conversations and people (``core/store/sqlite.py``).

They are the "core" feature until they move into packages of their own; their PostgreSQL
steps are in ``core/store/postgres/schema_core.py``.
"""

from __future__ import annotations

from core.db.schema import Step

SQLITE: tuple[Step, ...] = (
    # inbox, conversations, turns, people, preferences
    Step("core", 1, "inbox-conversations-people", """
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
    """, was=1),
    # pairing of unknown senders, approved by the owner
    Step("core", 2, "pairings", """
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
    """, was=2),
    # delivery state next to the inbox: the stored answer, the platform's message ids
    Step("core", 3, "delivery", """
    ALTER TABLE inbox ADD COLUMN reply TEXT;
    ALTER TABLE inbox ADD COLUMN reply_status TEXT;
    ALTER TABLE inbox ADD COLUMN platform_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE inbox ADD COLUMN answered_at TEXT;
    ALTER TABLE inbox ADD COLUMN held_since TEXT;
    CREATE INDEX inbox_open ON inbox(rowid) WHERE status IN ('pending', 'answered', 'held');
    """, was=6),
    # a command's exchange (/memory, /prefs …) is kept for the person to see on reload,
    # but never enters a prompt, a summary or the message count
    Step("core", 4, "command-turns", """
    ALTER TABLE turns ADD COLUMN command INTEGER NOT NULL DEFAULT 0;
    """, was=8),
    # words the person did not write are kept apart from their own (turns.text); turns
    # that read them are marked, so learning and summaries can leave them out
    Step("core", 5, "quoted", """
    ALTER TABLE turns ADD COLUMN quoted TEXT NOT NULL DEFAULT '';
    ALTER TABLE turns ADD COLUMN read_quoted INTEGER NOT NULL DEFAULT 0;
    """, was=10),
    # provenance and tool traces. turns.origin: what a turn was written from, directly
    # (the person, a quote or forward, Kith, a web page …); turns.trace: an assistant turn's
    # tool calls and results, replayed to the model. conversations.summary_origin: an
    # untrusted origin once the summary folded a turn that carried one. Existing rows: turns
    # that read quoted content were quotes; a summary that covered one of them folded it.
    Step("core", 6, "provenance", """
    ALTER TABLE turns ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    ALTER TABLE turns ADD COLUMN trace TEXT NOT NULL DEFAULT '';
    UPDATE turns SET origin = CASE WHEN read_quoted = 1 THEN 'quote'
                                   WHEN role = 'user' THEN 'person' ELSE 'kith' END;
    ALTER TABLE conversations ADD COLUMN summary_origin TEXT NOT NULL DEFAULT 'kith';
    UPDATE conversations SET summary_origin = 'quote' WHERE EXISTS (
        SELECT 1 FROM turns t WHERE t.conversation = conversations.key
        AND t.epoch = conversations.epoch AND t.read_quoted = 1
        AND t.seq <= conversations.summary_upto);
    """, was=11),
)
