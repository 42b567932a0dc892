"""The conversations feature's tables (a conversation's state and its turns), on both
backends.

PostgreSQL's mirror SQLite's with ``TIMESTAMPTZ`` for ISO text, ``BOOLEAN`` for 0/1 flags,
and an identity column for ``seq``. These steps were the "core" feature's (``formerly``)
until conversations became a package of their own; their SQL is as it shipped.
"""

from __future__ import annotations

from core.db.schema import Step

SQLITE: tuple[Step, ...] = (
    # conversations and their turns
    Step("conversations", 1, "conversations-turns", """    CREATE TABLE conversations (
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
""", was=1,
         formerly=("core", 1)),
    # a command's exchange (/memory, /prefs …) is kept for the person to see on reload,
    # but never enters a prompt, a summary or the message count
    Step("conversations", 2, "command-turns", """
    ALTER TABLE turns ADD COLUMN command INTEGER NOT NULL DEFAULT 0;
    """, was=8, formerly=("core", 4)),
    # words the person did not write are kept apart from their own (turns.text); turns
    # that read them are marked, so learning and summaries can leave them out
    Step("conversations", 3, "quoted", """
    ALTER TABLE turns ADD COLUMN quoted TEXT NOT NULL DEFAULT '';
    ALTER TABLE turns ADD COLUMN read_quoted INTEGER NOT NULL DEFAULT 0;
    """, was=10, formerly=("core", 5)),
    # provenance and tool traces. turns.origin: what a turn was written from, directly
    # (the person, a quote or forward, Kith, a web page …); turns.trace: an assistant turn's
    # tool calls and results, replayed to the model. conversations.summary_origin: an
    # untrusted origin once the summary folded a turn that carried one. Existing rows: turns
    # that read quoted content were quotes; a summary that covered one of them folded it.
    Step("conversations", 4, "provenance", """
    ALTER TABLE turns ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    ALTER TABLE turns ADD COLUMN trace TEXT NOT NULL DEFAULT '';
    UPDATE turns SET origin = CASE WHEN read_quoted = 1 THEN 'quote'
                                   WHEN role = 'user' THEN 'person' ELSE 'kith' END;
    ALTER TABLE conversations ADD COLUMN summary_origin TEXT NOT NULL DEFAULT 'kith';
    UPDATE conversations SET summary_origin = 'quote' WHERE EXISTS (
        SELECT 1 FROM turns t WHERE t.conversation = conversations.key
        AND t.epoch = conversations.epoch AND t.read_quoted = 1
        AND t.seq <= conversations.summary_upto);
    """, was=11, formerly=("core", 6)),
)

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

# provenance and tool traces on turns, the summary's origin (SQLite's step 4)
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
    Step("conversations", 1, "conversations", _CONVERSATIONS, was="core/2-conversations",
         formerly=("core", 2)),
    Step("conversations", 2, "provenance", _PROVENANCE, was="history/1-provenance",
         formerly=("core", 4)),
)
