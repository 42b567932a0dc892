"""The memory feature's schema on both backends: memories (full text, vectors), identities'
link codes, the learning queue. They run after the core steps (``people``, ``turns``).

PostgreSQL.

Full text: ``memories.tsv`` holds the words of ``memories.text`` as the application
tokenises them (:mod:`core.memory.postgres_fulltext`: lower case, Latin diacritics folded,
split on everything but letters and digits) run through ``kith_memory``, a text search
configuration with the snowball English stemmer and no stopword list: the equivalent of
SQLite's ``porter unicode61`` FTS5 index. ``words`` is the token count and
``memory_text_stats`` the totals BM25 needs (documents, tokens), kept by statement
triggers in sixteen rows so concurrent writers rarely wait on each other.

Vectors: ``memory_vectors.vec`` is an untyped ``vector`` (the dimension depends on the
embedder, and can change with it), searched exactly per person; see
:mod:`core.memory.postgres_search`.
"""

from __future__ import annotations

from core.db.schema import Step

STAT_SHARDS = 16

_MEMORIES = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TEXT SEARCH DICTIONARY kith_stem (TEMPLATE = snowball, Language = english);
CREATE TEXT SEARCH CONFIGURATION kith_memory (COPY = pg_catalog.simple);
ALTER TEXT SEARCH CONFIGURATION kith_memory ALTER MAPPING FOR asciiword, word, numword,
    asciihword, hword, numhword, hword_asciipart, hword_part, hword_numpart WITH kith_stem;
CREATE TABLE memories (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    text TEXT NOT NULL,
    kind TEXT NOT NULL,
    pref_key TEXT,
    scope TEXT NOT NULL DEFAULT 'private',
    confidence DOUBLE PRECISION NOT NULL,
    source_inbound TEXT NOT NULL,
    source_channel TEXT NOT NULL,
    source_sender TEXT NOT NULL,
    source_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ,
    superseded_by TEXT,
    created_at TIMESTAMPTZ NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    tsv TSVECTOR NOT NULL,
    words INTEGER NOT NULL
);
CREATE INDEX memories_person ON memories (person_id, n);
CREATE INDEX memories_current ON memories (person_id, n) WHERE superseded_by IS NULL;
CREATE INDEX memories_person_kind ON memories (person_id, kind, n)
    WHERE superseded_by IS NULL;
CREATE INDEX memories_scope ON memories (scope, n) WHERE superseded_by IS NULL;
CREATE INDEX memories_replaced ON memories (superseded_by);
CREATE INDEX memories_expiring ON memories (expires_at) WHERE expires_at IS NOT NULL;
CREATE INDEX memories_fts ON memories USING gin (tsv);
CREATE INDEX memories_source ON memories (source_inbound);
CREATE TABLE memory_vectors (
    n BIGINT PRIMARY KEY REFERENCES memories(n) ON DELETE CASCADE,
    dim INTEGER NOT NULL,
    vec vector NOT NULL
);
"""

_STATS = f"""
CREATE TABLE memory_text_stats (
    shard INTEGER PRIMARY KEY,
    docs BIGINT NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0
);
INSERT INTO memory_text_stats (shard) SELECT generate_series(0, {STAT_SHARDS - 1});
CREATE FUNCTION memory_text_stats_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        UPDATE memory_text_stats s SET docs = s.docs + d.docs, tokens = s.tokens + d.tokens
        FROM (SELECT n % {STAT_SHARDS} AS shard, count(*) AS docs, sum(words) AS tokens
              FROM added GROUP BY 1) d
        WHERE s.shard = d.shard;
    ELSIF TG_OP = 'DELETE' THEN
        UPDATE memory_text_stats s SET docs = s.docs - d.docs, tokens = s.tokens - d.tokens
        FROM (SELECT n % {STAT_SHARDS} AS shard, count(*) AS docs, sum(words) AS tokens
              FROM removed GROUP BY 1) d
        WHERE s.shard = d.shard;
    ELSE  -- an UPDATE keeps the documents (n never changes); an edit moves the tokens
        UPDATE memory_text_stats s SET tokens = s.tokens + d.delta
        FROM (SELECT a.n % {STAT_SHARDS} AS shard, sum(a.words - r.words) AS delta
              FROM added a JOIN removed r USING (n) GROUP BY 1) d
        WHERE s.shard = d.shard AND d.delta <> 0;
    END IF;
    RETURN NULL;
END $$;
"""

_STAT_TRIGGERS = """
CREATE TRIGGER memories_stats_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION memory_text_stats_apply();
CREATE TRIGGER memories_stats_delete AFTER DELETE ON memories
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION memory_text_stats_apply();
CREATE TRIGGER memories_stats_update AFTER UPDATE ON memories
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION memory_text_stats_apply();
"""

_PEOPLE = """
ALTER TABLE people ADD COLUMN IF NOT EXISTS learning BOOLEAN NOT NULL DEFAULT true;
CREATE TABLE memory_forget_pending (
    person_id TEXT PRIMARY KEY REFERENCES people(id) ON DELETE CASCADE,
    ids TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE link_codes (
    code TEXT PRIMARY KEY,
    person_id TEXT NOT NULL,
    created_at DOUBLE PRECISION NOT NULL,
    expires_at DOUBLE PRECISION NOT NULL,
    used_at DOUBLE PRECISION
);
CREATE INDEX link_codes_person ON link_codes (person_id);
CREATE INDEX IF NOT EXISTS turns_person ON turns (person_id);
CREATE INDEX IF NOT EXISTS turns_inbound ON turns (inbound_id);
CREATE INDEX IF NOT EXISTS turns_person_conversation ON turns (person_id, conversation, seq);
"""

_LEARNING = """
CREATE TABLE memory_learning (
    conversation TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    sender TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    is_group BOOLEAN NOT NULL,
    upto_seq BIGINT NOT NULL DEFAULT 0,
    pending INTEGER NOT NULL DEFAULT 0,
    failures INTEGER NOT NULL DEFAULT 0,
    claimed_until DOUBLE PRECISION,
    updated_at DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (conversation, person_id)
);
CREATE INDEX memory_learning_pending ON memory_learning (updated_at) WHERE pending > 0;
CREATE INDEX memory_learning_person ON memory_learning (person_id);
"""

# Memories are written seldom and searched on every turn. GIN's fast-update list takes new
# entries unsorted and every search scans it whole until (auto)vacuum merges it (4,000 fresh
# memories made a lookup 6x slower): entries go straight into the index. A vector of more
# than ~500 dimensions would be TOASTed out of line (pgvector's default storage), and the
# exact scan would fetch each one from the TOAST table (4x slower at 768): kept in the row.
_SEARCH_STORAGE = """
ALTER INDEX memories_fts SET (fastupdate = off);
SELECT gin_clean_pending_list('memories_fts');
ALTER TABLE memory_vectors ALTER COLUMN vec SET STORAGE MAIN;
"""

# BM25's totals per audience (core/memory/terms.audience: the owner's private memories, the
# owner's shared ones, one group's), so a query ranks with the asker's own statistics
_AUDIENCE = "CASE WHEN {t}.scope LIKE 'group:%' THEN 'g' || {t}.scope " \
    "WHEN {t}.scope = 'shared' THEN 's' || {t}.person_id ELSE 'p' || {t}.person_id END"
_AUDIENCE_STATS = f"""
CREATE TABLE memory_audience_stats (
    key TEXT PRIMARY KEY,
    docs BIGINT NOT NULL DEFAULT 0,
    tokens BIGINT NOT NULL DEFAULT 0
);
INSERT INTO memory_audience_stats (key, docs, tokens)
    SELECT {_AUDIENCE.format(t="m")}, count(*), coalesce(sum(words), 0) FROM memories m GROUP BY 1;
CREATE FUNCTION memory_audience_stats_apply() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP IN ('DELETE', 'UPDATE') THEN
        UPDATE memory_audience_stats s SET docs = s.docs - d.docs, tokens = s.tokens - d.tokens
        FROM (SELECT {_AUDIENCE.format(t="r")} AS key, count(*) AS docs, sum(words) AS tokens
              FROM removed r GROUP BY 1) d
        WHERE s.key = d.key;
    END IF;
    IF TG_OP IN ('INSERT', 'UPDATE') THEN
        INSERT INTO memory_audience_stats AS s (key, docs, tokens)
        SELECT {_AUDIENCE.format(t="a")}, count(*), sum(words) FROM added a GROUP BY 1
        ON CONFLICT (key) DO UPDATE SET docs = s.docs + excluded.docs,
                                        tokens = s.tokens + excluded.tokens;
    END IF;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_audience_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION memory_audience_stats_apply();
CREATE TRIGGER memories_audience_delete AFTER DELETE ON memories
    REFERENCING OLD TABLE AS removed FOR EACH STATEMENT
    EXECUTE FUNCTION memory_audience_stats_apply();
CREATE TRIGGER memories_audience_update AFTER UPDATE ON memories
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION memory_audience_stats_apply();
"""

# memories waiting for their vector (stored without one, or edited): filled in the
# background by core/memory/vector_fill.py, whatever stored them
_UNEMBEDDED = """
CREATE TABLE memory_unembedded (
    n BIGINT PRIMARY KEY REFERENCES memories(n) ON DELETE CASCADE
);
INSERT INTO memory_unembedded (n) SELECT n FROM memories m
    WHERE NOT EXISTS (SELECT 1 FROM memory_vectors v WHERE v.n = m.n);
CREATE FUNCTION memory_unembedded_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO memory_unembedded (n) SELECT n FROM added ON CONFLICT DO NOTHING;
    ELSE
        INSERT INTO memory_unembedded (n) SELECT a.n FROM added a JOIN removed r USING (n)
            WHERE a.text IS DISTINCT FROM r.text ON CONFLICT DO NOTHING;
    END IF;
    RETURN NULL;
END $$;
CREATE FUNCTION memory_unembedded_done() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM memory_unembedded u USING added a WHERE u.n = a.n;
    RETURN NULL;
END $$;
CREATE TRIGGER memories_unembedded_insert AFTER INSERT ON memories
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION memory_unembedded_add();
CREATE TRIGGER memories_unembedded_update AFTER UPDATE ON memories
    REFERENCING OLD TABLE AS removed NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION memory_unembedded_add();
CREATE TRIGGER memory_vectors_embedded_insert AFTER INSERT ON memory_vectors
    REFERENCING NEW TABLE AS added FOR EACH STATEMENT
    EXECUTE FUNCTION memory_unembedded_done();
"""

POSTGRES: tuple[Step, ...] = tuple(
    Step("memory", version, label, sql, was=f"memory/{version}-{label}")
    for version, (label, sql) in enumerate((
        ("memories", _MEMORIES),
        ("text-stats", _STATS + _STAT_TRIGGERS),
        ("people", _PEOPLE),
        ("learning", _LEARNING),
        ("search-storage", _SEARCH_STORAGE),
        ("audience-stats", _AUDIENCE_STATS),
        ("unembedded", _UNEMBEDDED),
    ), start=1))

SQLITE: tuple[Step, ...] = (
    # long-term memories (FTS5 over external content, float32 vectors), the learning
    # switch, pending /forget confirmations, and one-time codes that link identities
    Step("memory", 1, "memories", """
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
    """, was=3),
    # time-bound memories still true now are found without scanning a person's memories
    Step("memory", 2, "expiring", """
    CREATE INDEX memories_expiring ON memories(expires_at) WHERE expires_at IS NOT NULL;
    """, was=4),
    # learned preferences and style are read on every direct turn, by kind
    Step("memory", 3, "person-kind", """
    CREATE INDEX memories_person_kind ON memories(person_id, kind, superseded_by);
    """, was=5),
    # durable, batched memory extraction: per conversation and person, the last turn
    # extracted and how many answered turns wait since; a lease lets one worker claim it
    Step("memory", 4, "learning", """
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
    """, was=9),
    # words indexed per audience (core/memory/terms.py): a query counts, prunes and
    # ranks only the postings of the memories its asker may see, with the asker's own
    # BM25 statistics. The triggers call functions the store registers on its connection.
    Step("memory", 5, "audience-terms", """
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
    """, was=12),
    # memories waiting for their vector (stored without one, or edited): the embedder
    # fills them in the background (core/memory/vector_fill.py), whatever stored them, and
    # everything stored before embeddings were turned on
    Step("memory", 6, "unembedded", """
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
    """, was=13),
    # the plain FTS5 index over every memory's text is no longer read (recall searches
    # memory_terms, per audience): it is dropped, and with it a copy of every memory's words
    Step("memory", 7, "drop-plain-fts", """
    DROP TRIGGER memories_ai;
    DROP TRIGGER memories_ad;
    DROP TABLE memories_fts;
    """),
)

