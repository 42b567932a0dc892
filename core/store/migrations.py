"""Versioned schema migrations for the SQLite store. Append; never edit a shipped one."""

from __future__ import annotations

from core.actions import schema as actions_schema
from core.calendar import links_store

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
MIGRATIONS += (
    # 3: long-term memories (FTS5 over external content, float32 vectors), the learning
    # switch, pending /forget confirmations, and one-time codes that link identities
    """
    CREATE TABLE memories (
        n INTEGER PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        text TEXT NOT NULL,
        kind TEXT NOT NULL,
        pref_key TEXT,
        scope TEXT NOT NULL DEFAULT 'private',
        confidence REAL NOT NULL,
        source_inbound TEXT NOT NULL,
        source_channel TEXT NOT NULL,
        source_sender TEXT NOT NULL,
        source_at TEXT NOT NULL,
        expires_at REAL,
        superseded_by TEXT,
        created_at TEXT NOT NULL,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX memories_person ON memories(person_id, superseded_by);
    CREATE INDEX memories_scope ON memories(scope, superseded_by);
    CREATE INDEX memories_replaced ON memories(superseded_by);
    CREATE VIRTUAL TABLE memories_fts USING fts5(
        text, content='memories', content_rowid='n', tokenize='porter unicode61'
    );
    CREATE TRIGGER memories_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memories_fts(rowid, text) VALUES (new.n, new.text);
    END;
    CREATE TRIGGER memories_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memories_fts(memories_fts, rowid, text) VALUES ('delete', old.n, old.text);
    END;
    CREATE TABLE memory_vectors (
        n INTEGER PRIMARY KEY REFERENCES memories(n) ON DELETE CASCADE,
        dim INTEGER NOT NULL,
        vec BLOB NOT NULL
    );
    ALTER TABLE people ADD COLUMN learning INTEGER NOT NULL DEFAULT 1;
    CREATE TABLE memory_forget_pending (
        person_id TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
        ids TEXT NOT NULL,
        created_at TEXT NOT NULL
    );
    CREATE TABLE link_codes (
        code TEXT PRIMARY KEY,
        person_id TEXT NOT NULL,
        created_at REAL NOT NULL,
        expires_at REAL NOT NULL,
        used_at REAL
    );
    CREATE INDEX turns_person ON turns(person_id);
    CREATE INDEX turns_inbound ON turns(inbound_id);
    """,
)
MIGRATIONS += (
    # 4: time-bound memories still true now are found without scanning a person's memories
    """
    CREATE INDEX memories_expiring ON memories(expires_at) WHERE expires_at IS NOT NULL;
    """,
)
MIGRATIONS += (
    # 5: learned preferences and style are read on every direct turn, by kind
    """
    CREATE INDEX memories_person_kind ON memories(person_id, kind, superseded_by);
    """,
)
MIGRATIONS += (
    # 6: delivery state next to the inbox: the stored answer, the platform's message ids
    """
    ALTER TABLE inbox ADD COLUMN reply TEXT;
    ALTER TABLE inbox ADD COLUMN reply_status TEXT;
    ALTER TABLE inbox ADD COLUMN platform_ids TEXT NOT NULL DEFAULT '[]';
    ALTER TABLE inbox ADD COLUMN answered_at TEXT;
    ALTER TABLE inbox ADD COLUMN held_since TEXT;
    CREATE INDEX inbox_open ON inbox(rowid) WHERE status IN ('pending', 'answered', 'held');
    """,
)
MIGRATIONS += (
    # 7: scheduled turns (reminders, briefings), their fired occurrences, per-person lists
    """
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
    CREATE TABLE list_items (
        n INTEGER PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        list TEXT NOT NULL,
        item TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX list_items_person ON list_items(person_id, list, done);
    """,
)
MIGRATIONS += (
    # 8: a command's exchange (/memory, /prefs …) is kept for the person to see on reload,
    # but never enters a prompt, a summary or the message count
    """
    ALTER TABLE turns ADD COLUMN command INTEGER NOT NULL DEFAULT 0;
    """,
)
MIGRATIONS += (
    # 9: durable, batched memory extraction: per conversation and person, the last turn
    # extracted and how many answered turns wait since; a lease lets one worker claim it
    """
    CREATE TABLE memory_learning (
        conversation TEXT NOT NULL,
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        channel TEXT NOT NULL,
        sender TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        is_group INTEGER NOT NULL,
        upto_seq INTEGER NOT NULL DEFAULT 0,
        pending INTEGER NOT NULL DEFAULT 0,
        failures INTEGER NOT NULL DEFAULT 0,
        claimed_until REAL,
        updated_at REAL NOT NULL,
        PRIMARY KEY (conversation, person_id)
    );
    CREATE INDEX memory_learning_pending ON memory_learning(pending) WHERE pending > 0;
    CREATE INDEX turns_person_conversation ON turns(person_id, conversation, seq);
    """,
)
MIGRATIONS += (
    # 10: words the person did not write are kept apart from their own (turns.text); turns
    # that read them are marked, so learning and summaries can leave them out
    """
    ALTER TABLE turns ADD COLUMN quoted TEXT NOT NULL DEFAULT '';
    ALTER TABLE turns ADD COLUMN read_quoted INTEGER NOT NULL DEFAULT 0;
    """,
)
MIGRATIONS += (
    # 11: provenance and tool traces. turns.origin: what a turn was written from, directly
    # (the person, a quote or forward, Kith, a web page …); turns.trace: an assistant turn's
    # tool calls and results, replayed to the model. conversations.summary_origin: an
    # untrusted origin once the summary folded a turn that carried one. Existing rows: turns
    # that read quoted content were quotes; a summary that covered one of them folded it.
    """
    ALTER TABLE turns ADD COLUMN origin TEXT NOT NULL DEFAULT '';
    ALTER TABLE turns ADD COLUMN trace TEXT NOT NULL DEFAULT '';
    UPDATE turns SET origin = CASE WHEN read_quoted = 1 THEN 'quote'
                                   WHEN role = 'user' THEN 'person' ELSE 'kith' END;
    ALTER TABLE conversations ADD COLUMN summary_origin TEXT NOT NULL DEFAULT 'kith';
    UPDATE conversations SET summary_origin = 'quote' WHERE EXISTS (
        SELECT 1 FROM turns t WHERE t.conversation = conversations.key
        AND t.epoch = conversations.epoch AND t.read_quoted = 1
        AND t.seq <= conversations.summary_upto);
    """,
)
MIGRATIONS += (
    # 12: words indexed per audience (core/memory/terms.py): a query counts, prunes and
    # ranks only the postings of the memories its asker may see, with the asker's own
    # BM25 statistics. The triggers call functions the store registers on its connection.
    """
    CREATE VIRTUAL TABLE memory_terms USING fts5(
        terms, content='', tokenize='unicode61 remove_diacritics 0'
    );
    CREATE VIRTUAL TABLE memory_term_instances USING fts5vocab(memory_terms, instance);
    ALTER TABLE memories ADD COLUMN words INTEGER NOT NULL DEFAULT 0;
    UPDATE memories SET words = kith_words(text);
    CREATE TRIGGER memory_words_ai AFTER INSERT ON memories BEGIN
        UPDATE memories SET words = kith_words(new.text) WHERE n = new.n;
    END;
    CREATE TRIGGER memory_words_au AFTER UPDATE OF text ON memories BEGIN
        UPDATE memories SET words = kith_words(new.text) WHERE n = new.n;
    END;
    CREATE TABLE memory_term_stats (
        key TEXT PRIMARY KEY,
        docs INTEGER NOT NULL,
        tokens INTEGER NOT NULL
    );
    CREATE TRIGGER memory_terms_ai AFTER INSERT ON memories BEGIN
        INSERT INTO memory_terms(rowid, terms)
            VALUES (new.n, kith_terms(new.person_id, new.scope, new.text));
        INSERT INTO memory_term_stats(key, docs, tokens)
            VALUES (kith_key(new.person_id, new.scope), 1, kith_words(new.text))
            ON CONFLICT(key) DO UPDATE SET docs = docs + 1, tokens = tokens + excluded.tokens;
    END;
    CREATE TRIGGER memory_terms_ad AFTER DELETE ON memories BEGIN
        INSERT INTO memory_terms(memory_terms, rowid, terms)
            VALUES ('delete', old.n, kith_terms(old.person_id, old.scope, old.text));
        UPDATE memory_term_stats SET docs = docs - 1, tokens = tokens - kith_words(old.text)
            WHERE key = kith_key(old.person_id, old.scope);
    END;
    CREATE TRIGGER memory_terms_au AFTER UPDATE OF person_id, scope, text ON memories BEGIN
        INSERT INTO memory_terms(memory_terms, rowid, terms)
            VALUES ('delete', old.n, kith_terms(old.person_id, old.scope, old.text));
        UPDATE memory_term_stats SET docs = docs - 1, tokens = tokens - kith_words(old.text)
            WHERE key = kith_key(old.person_id, old.scope);
        INSERT INTO memory_terms(rowid, terms)
            VALUES (new.n, kith_terms(new.person_id, new.scope, new.text));
        INSERT INTO memory_term_stats(key, docs, tokens)
            VALUES (kith_key(new.person_id, new.scope), 1, kith_words(new.text))
            ON CONFLICT(key) DO UPDATE SET docs = docs + 1, tokens = tokens + excluded.tokens;
    END;
    INSERT INTO memory_terms(rowid, terms)
        SELECT n, kith_terms(person_id, scope, text) FROM memories;
    INSERT INTO memory_term_stats(key, docs, tokens)
        SELECT kith_key(person_id, scope), count(*), sum(kith_words(text)) FROM memories
        WHERE true GROUP BY 1;
    """,
)
MIGRATIONS += (
    # 13: memories waiting for their vector (stored without one, or edited): the embedder
    # fills them in the background (core/memory/vector_fill.py), whatever stored them, and
    # everything stored before embeddings were turned on
    """
    CREATE TABLE memory_unembedded (
        n INTEGER PRIMARY KEY REFERENCES memories(n) ON DELETE CASCADE
    );
    CREATE TRIGGER memory_unembedded_ai AFTER INSERT ON memories BEGIN
        INSERT OR IGNORE INTO memory_unembedded(n) VALUES (new.n);
    END;
    CREATE TRIGGER memory_unembedded_au AFTER UPDATE OF text ON memories BEGIN
        INSERT OR IGNORE INTO memory_unembedded(n) VALUES (new.n);
    END;
    CREATE TRIGGER memory_unembedded_vi AFTER INSERT ON memory_vectors BEGIN
        DELETE FROM memory_unembedded WHERE n = new.n;
    END;
    INSERT INTO memory_unembedded(n) SELECT n FROM memories m
        WHERE NOT EXISTS (SELECT 1 FROM memory_vectors v WHERE v.n = m.n);
    """,
)
MIGRATIONS += (
    # 14: durable side-effect actions, keyed by (inbound id, call index) (core/actions)
    actions_schema.SQLITE,
)
MIGRATIONS += (
    # 15: people's own calendars, linked with /calendar connect (core/calendar/links.py)
    links_store.SQLITE,
)
