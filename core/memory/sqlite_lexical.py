"""Lexical recall on SQLite over the asker's own postings (see :mod:`core.memory.terms`).

The query's terms are counted in the audiences the asker may see (at most
``lexical.POSTINGS_BUDGET + 1`` postings each), pruned rarest first to the budget, and the
candidates — the postings of the chosen terms, or when even the rarest alone is crowded
the newest ``POSTINGS_BUDGET`` of them — are filtered by visibility and scored by BM25
with the asker's statistics. Nothing here reads another audience's postings. SQLite sums
the scores (stem counts from ``memory_term_instances``, grouped per candidate); only a
crowded term's candidates are counted in Python (``terms.bm25``), from their own words.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from core.memory import lexical, terms
from core.memory.model import Visibility
from core.memory.sqlite_rows import visible_sql


def search(
    db: sqlite3.Connection, visibility: Visibility, query: str, now: datetime, limit: int
) -> list[str]:
    keys = terms.audiences(visibility)
    wanted = terms.query_terms(query)
    if not keys or not wanted:
        return []
    prefixes = [terms.code(k) for k in keys]
    budget = lexical.POSTINGS_BUDGET
    counted = sorted(
        (db.execute(
            "SELECT count(*) FROM (SELECT 1 FROM memory_terms WHERE memory_terms MATCH ? "
            "LIMIT ?)", (terms.match(prefixes, [stems]), budget + 1),
        ).fetchone()[0], key, stems) for key, stems in wanted
    )
    chosen: list[tuple[tuple[str, ...], int]] = []
    total = 0
    for df, _, stems in counted:
        if df == 0 or (chosen and total + df > budget):
            continue
        chosen.append((stems, df))
        total += df
    if not chosen:
        return []
    marks = ",".join("?" * len(keys))
    docs, tokens = db.execute(
        f"SELECT coalesce(sum(docs), 0), coalesce(sum(tokens), 0) FROM memory_term_stats "
        f"WHERE key IN ({marks})", keys,
    ).fetchone()
    stats = terms.Stats(int(docs), int(tokens))
    weight = terms.weights(chosen, stats.docs)
    if total <= budget:
        return _scored(db, visibility, now, prefixes, chosen, weight, stats, limit)
    # crowded (a very common word only): the newest postings, by rowid, at most the budget
    match = terms.match(prefixes, [stems for stems, _ in chosen])
    postings = ("SELECT rowid FROM memory_terms WHERE memory_terms MATCH ? "
                "ORDER BY rowid DESC LIMIT ?")
    where, params = visible_sql(visibility, now)
    rows = db.execute(
        f"SELECT m.n, m.id, m.words FROM memories m WHERE m.n IN ({postings}) AND {where}",
        [match, budget, *params],
    ).fetchall()
    scored = terms.bm25(rows, _frequencies(db, chosen, rows), weight, stats)
    return [memory_id for _, _, memory_id in scored[:limit]]


def _scored(
    db: sqlite3.Connection, visibility: Visibility, now: datetime, prefixes: list[str],
    chosen: list[tuple[tuple[str, ...], int]], weight: dict[str, float], stats: terms.Stats,
    limit: int,
) -> list[str]:
    """BM25 summed by SQLite over the chosen terms' postings (at most the budget): each
    candidate's count of each stem from the index's instances, weighed as ``terms.bm25``
    does. A phrase's candidates must hold the phrase, not just its words."""
    pairs = [(p + s, w) for s, w in weight.items() for p in prefixes]
    values = ",".join("(?, ?)" for _ in pairs)
    marks = ",".join("?" * len(pairs))
    where, params = visible_sql(visibility, now)
    phrase, phrase_params = "", []
    if any(len(stems) > 1 for stems, _ in chosen):
        phrase = " AND m.n IN (SELECT rowid FROM memory_terms WHERE memory_terms MATCH ?)"
        phrase_params = [terms.match(prefixes, [stems for stems, _ in chosen])]
    avgdl = max(stats.tokens / stats.docs, 1e-9) if stats.docs else 1.0
    k1, b = terms.K1, terms.B
    rows = db.execute(
        f"WITH w(term, weight) AS (VALUES {values}), "
        f"i AS (SELECT doc, term, count(*) AS f FROM memory_term_instances "
        f"WHERE term IN ({marks}) GROUP BY doc, term) "
        f"SELECT m.id, round(sum(w.weight * i.f * {k1 + 1} / "
        f"(i.f + {k1} * ({1 - b} + {b} * m.words / ?))), 9) AS score "
        f"FROM i CROSS JOIN w CROSS JOIN memories m "
        f"WHERE w.term = i.term AND m.n = i.doc AND {where}{phrase} "
        f"GROUP BY m.n ORDER BY score DESC, m.n LIMIT ?",
        [*(x for pair in pairs for x in pair), *(t for t, _ in pairs), avgdl, *params,
         *phrase_params, limit],
    ).fetchall()
    return [r[0] for r in rows]


def _frequencies(
    db: sqlite3.Connection, chosen: list[tuple[tuple[str, ...], int]],
    rows: list[tuple[int, str, int]],
) -> dict[int, dict[str, int]]:
    """Each crowded candidate's count of each chosen stem, from its own words (the
    candidates are at most the budget; the term's instances are many more)."""
    stems = {s for phrase, _ in chosen for s in phrase}
    counts: dict[int, dict[str, int]] = {}
    marks = ",".join("?" * len(rows))
    for n, text in db.execute(f"SELECT n, text FROM memories WHERE n IN ({marks})",
                              [r[0] for r in rows]):
        found = counts.setdefault(n, {})
        for w in terms.words(text):
            if w in stems:
                found[w] = found.get(w, 0) + 1
    return counts
