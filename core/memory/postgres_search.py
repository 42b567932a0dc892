"""Recall's three searches on PostgreSQL, each filtered by :class:`Visibility` in SQL.

Lexical: the query's content words (as on SQLite), pruned rarest-first to a postings budget
by counting each term's documents the asker may see (through the GIN index), then ranked by
BM25 computed in SQL as FTS5's ``bm25()`` does (k1 = 1.2, b = 0.75, idf from the pruning
counts, document and token totals of the asker's audiences from ``memory_audience_stats``,
term frequencies from the positions in ``tsv``); when even the rarest term is crowded, its
newest visible postings up to the budget are ranked. Another person's memories change no
count, total or candidate, so nor the ranking (their postings are still read by the GIN
scan and filtered: cost, not quality, grows with the whole store). PostgreSQL's
``ts_rank`` has no idf, so a common word would weigh as much as a rare one: recall's fusion
was tuned on BM25, so BM25 it is. Ties (to 1e-9, so that the
order of a sum does not decide) go to the older memory.

Vectors: exact cosine (``<=>``) over the visible rows of the query's dimension, computed by
the database on every query: there is no process-local cache, so no replica ever reads a
vector another replica has changed or deleted. The column is an untyped ``vector`` because
the dimension is the embedder's; the scan is bounded by the person (and group) indexes.
An approximate index needs one dimension, e.g. for a 768-dimension embedder:
``CREATE INDEX CONCURRENTLY ON memory_vectors USING hnsw ((vec::vector(768))
vector_cosine_ops) WHERE dim = 768`` — not created by default: per-person filtering after
an approximate scan can miss rows unless ``hnsw.iterative_scan`` is on, and a household's
memories per person are few enough that the exact scan costs milliseconds.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

import psycopg

from core.memory import lexical, neighbours
from core.memory import postgres_fulltext as fulltext
from core.memory import terms as terms_of
from core.memory.model import Visibility
from core.memory.scope import PRIVATE, SHARED, encode_scope

Conn = psycopg.AsyncConnection[Any]
K1, B = 1.2, 0.75

# counts and totals are the asker's: visible postings, the audiences' statistics
_COUNT = f"""
SELECT t.term, phraseto_tsquery('{fulltext.CONFIG}', t.term)::text,
       array_to_string(tsvector_to_array(to_tsvector('{fulltext.CONFIG}', t.term)), ' '),
       (SELECT count(*) FROM (SELECT 1 FROM memories m
            WHERE m.tsv @@ phraseto_tsquery('{fulltext.CONFIG}', t.term) AND {{where}}
            LIMIT %(cap)s) s),
       st.docs, st.tokens
FROM unnest(%(terms)s::text[]) WITH ORDINALITY AS t(term, i)
CROSS JOIN (SELECT coalesce(sum(docs), 0)::bigint AS docs,
                   coalesce(sum(tokens), 0)::bigint AS tokens FROM memory_audience_stats
            WHERE key = ANY(%(keys)s)) st
ORDER BY t.i"""

# BM25 per candidate from its own positions: one pass over the candidate's lexemes
# (unnest in the select list streams; in FROM it would be materialised per row)
_RANK = f"""
SELECT s.id FROM (
    SELECT x.n, x.id, sum(
        (%(weights)s::float8[])[array_position(%(lexemes)s::text[], (x.u).lexeme)]
        * array_length((x.u).positions, 1) * {K1 + 1}::float8
        / (array_length((x.u).positions, 1)
           + {K1}::float8 * ({1 - B}::float8 + {B}::float8 * x.words / %(avgdl)s::float8))
    ) AS score
    FROM (SELECT m.n, m.id, m.words, unnest(m.tsv) AS u FROM memories m
          WHERE m.n IN (SELECT m.n FROM memories m WHERE m.tsv @@ %(match)s::tsquery
                        AND {{where}} ORDER BY m.n DESC LIMIT %(postings)s)) x
    WHERE (x.u).lexeme = ANY(%(lexemes)s::text[])
    GROUP BY x.n, x.id
) s
ORDER BY round(s.score::numeric, 9) DESC, s.n LIMIT %(limit)s"""


def visible_sql(v: Visibility, now: datetime) -> tuple[str, dict[str, Any]]:
    """WHERE clause (over alias ``m``) selecting the active memories ``v`` may see."""
    clauses: list[str] = []
    params: dict[str, Any] = {"v_now": now}
    if v.owner:
        clauses.append(f"(m.person_id = %(v_owner)s AND m.scope IN ('{PRIVATE}', '{SHARED}'))")
        params["v_owner"] = v.owner
    if v.group:
        clauses.append("m.scope = %(v_group)s")
        params["v_group"] = encode_scope(v.group)
    if v.present:
        clauses.append(f"(m.scope = '{SHARED}' AND m.person_id = ANY(%(v_present)s))")
        params["v_present"] = list(v.present)
    if not clauses:
        return "false", {}
    where = "m.superseded_by IS NULL AND (m.expires_at IS NULL OR m.expires_at > %(v_now)s) AND ("
    return where + " OR ".join(clauses) + ")", params


async def search_text(
    conn: Conn, visibility: Visibility, query: str, now: datetime, limit: int
) -> list[str]:
    terms = fulltext.query_terms(query)
    where, params = visible_sql(visibility, now)
    if not terms or where == "false":
        return []
    cur = await conn.execute(_COUNT.format(where=where).encode(), {
        **params, "terms": [words for _, words in terms], "cap": lexical.POSTINGS_BUDGET + 1,
        "keys": terms_of.audiences(visibility)})
    rows = await cur.fetchall()
    # by FTS5's quoted term: (tsquery, lexemes, documents)
    found = {key: (str(r[1]), str(r[2]), int(r[3]))
             for (key, _), r in zip(terms, rows, strict=True)}
    docs, tokens = (int(rows[0][4]), int(rows[0][5])) if rows else (0, 0)
    chosen, _ = fulltext.choose(
        [(df, key) for key, (_, _, df) in found.items()], lexical.POSTINGS_BUDGET)
    if not chosen:
        return []
    # crowded (a very common word only): rank the newest postings, at most the budget
    lexemes, weights = _weights([(found[t][1], fulltext.bm25_idf(docs, found[t][2]))
                                 for t in chosen])
    params.update(
        lexemes=lexemes, weights=weights, limit=limit, postings=lexical.POSTINGS_BUDGET,
        match=" | ".join(f"( {found[t][0]} )" for t in chosen),
        avgdl=max(tokens / docs, 1e-9) if docs else 1.0,
    )
    cur = await conn.execute(_RANK.format(where=where).encode(), params)
    return [str(r[0]) for r in await cur.fetchall()]


def _weights(terms: Sequence[tuple[str, float]]) -> tuple[list[str], list[float]]:
    """Each lexeme's share of the terms' idf. A term is one lexeme (exact BM25, and two
    terms with one stem count twice, as on FTS5); a phrase (``foo_bar``) gives each of
    its k lexemes idf/k, which is its BM25 term when each word occurs once."""
    weight: dict[str, float] = {}
    for lexemes, idf in terms:
        parts = lexemes.split(" ")
        for lexeme in parts:
            weight[lexeme] = weight.get(lexeme, 0.0) + idf / len(parts)
    return list(weight), list(weight.values())


def vector_literal(vector: Sequence[float]) -> str | None:
    """pgvector's text form of ``vector``; None when a value is not finite."""
    values = [float(x) for x in vector]
    if not values or not all(math.isfinite(x) for x in values):
        return None
    return "[" + ",".join(repr(x) for x in values) + "]"


async def search_vectors(
    conn: Conn, visibility: Visibility, vector: Sequence[float], now: datetime, limit: int
) -> list[str]:
    literal = vector_literal(vector)
    where, params = visible_sql(visibility, now)
    if literal is None or math.fsum(x * x for x in vector) == 0.0 or where == "false":
        return []
    params.update(dim=len(vector), vec=literal, limit=limit)
    # a stored zero vector has no cosine (NaN): it scores as orthogonal, as on SQLite
    cur = await conn.execute(
        ("SELECT m.id FROM memories m JOIN memory_vectors v ON v.n = m.n "
         f"WHERE v.dim = %(dim)s AND {where} "
         "ORDER BY coalesce(nullif(v.vec <=> %(vec)s::vector, 'NaN'::float8), 1), m.n "
         "LIMIT %(limit)s").encode(), params)
    return [str(r[0]) for r in await cur.fetchall()]


async def search_current(
    conn: Conn, visibility: Visibility, now: datetime, limit: int
) -> list[str]:
    """Time-bound memories still true now ("in Lisbon this week"), newest first."""
    where, params = visible_sql(visibility, now)
    if where == "false":
        return []
    params.update(now=now, limit=limit)
    cur = await conn.execute(
        (f"SELECT m.id FROM memories m WHERE m.expires_at > %(now)s AND {where} "
         "ORDER BY m.n DESC LIMIT %(limit)s").encode(), params)
    return [str(r[0]) for r in await cur.fetchall()]


# each memory's nearest current memories of the same person by insertion order (the
# memories_current index: person, n), then the asker's visibility over those neighbours
_ADJACENT = """
SELECT h.id, h.source_channel, h.source_at, b.id, b.source_channel, b.source_at,
       a.id, a.source_channel, a.source_at
FROM memories h
LEFT JOIN LATERAL (SELECT m.id, m.source_channel, m.source_at FROM memories m
                   WHERE m.person_id = h.person_id AND m.superseded_by IS NULL AND m.n < h.n
                   ORDER BY m.n DESC LIMIT 1) b ON true
LEFT JOIN LATERAL (SELECT m.id, m.source_channel, m.source_at FROM memories m
                   WHERE m.person_id = h.person_id AND m.superseded_by IS NULL AND m.n > h.n
                   ORDER BY m.n LIMIT 1) a ON true
WHERE h.id = ANY(%(ids)s)"""


async def adjacent(
    conn: Conn, visibility: Visibility, ids: Sequence[str], now: datetime,
    gap: timedelta = neighbours.GAP,
) -> dict[str, neighbours.Adjacent]:
    """Conversation neighbours (:mod:`core.memory.neighbours`), as on SQLite."""
    where, params = visible_sql(visibility, now)
    if not ids or where == "false":
        return {}
    cur = await conn.execute(_ADJACENT, {"ids": list(ids)})
    sides: dict[str, tuple[str | None, str | None]] = {}
    for r in await cur.fetchall():
        pair = [str(r[i]) if r[i] is not None and neighbours.near(r[1], r[2], r[i + 1],
                                                                   r[i + 2], gap) else None
                for i in (3, 6)]
        sides[str(r[0])] = (pair[0], pair[1])
    wanted = list({i for pair in sides.values() for i in pair if i is not None})
    if not wanted:
        return {}
    params["wanted"] = wanted
    cur = await conn.execute(
        f"SELECT m.id FROM memories m WHERE m.id = ANY(%(wanted)s) AND {where}".encode(), params)
    seen = {str(r[0]) for r in await cur.fetchall()}
    out: dict[str, neighbours.Adjacent] = {}
    for memory_id, (before, after) in sides.items():
        found = neighbours.Adjacent(before if before in seen else None,
                                    after if after in seen else None)
        if found.before or found.after:
            out[memory_id] = found
    return out
