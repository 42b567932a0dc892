"""PostgreSQL schema: memories (full text + pgvector), identities, link codes, the learning queue.

Append-only (name, sql) pairs; they run after ``schema_core`` (``people``, ``turns``).

Full text: ``memories.tsv`` holds the words of ``memories.text`` as the application
tokenises them (:mod:`core.store.postgres.fulltext`: lower case, Latin diacritics folded,
split on everything but letters and digits) run through ``kith_memory``, a text search
configuration with the snowball English stemmer and no stopword list: the equivalent of
SQLite's ``porter unicode61`` FTS5 index. ``words`` is the token count and
``memory_text_stats`` the totals BM25 needs (documents, tokens), kept by statement
triggers in sixteen rows so concurrent writers rarely wait on each other.

Vectors: ``memory_vectors.vec`` is an untyped ``vector`` (the dimension depends on the
embedder, and can change with it), searched exactly per person; see
:mod:`core.store.postgres.memory_search`.
"""

from __future__ import annotations

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

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("memory/1-memories", _MEMORIES),
    ("memory/2-text-stats", _STATS + _STAT_TRIGGERS),
    ("memory/3-people", _PEOPLE),
    ("memory/4-learning", _LEARNING),
    ("memory/5-search-storage", _SEARCH_STORAGE),
    ("memory/6-audience-stats", _AUDIENCE_STATS),
    ("memory/7-unembedded", _UNEMBEDDED),
)
