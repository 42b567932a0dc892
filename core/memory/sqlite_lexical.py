"""Lexical recall on SQLite over the asker's own postings (see :mod:`core.memory.terms`).

The query's terms are counted in the audiences the asker may see (at most
``lexical.POSTINGS_BUDGET + 1`` postings each), pruned rarest first to the budget, and the
candidates — the postings of the chosen terms, or when even the rarest alone is crowded
the newest ``POSTINGS_BUDGET`` of them — are filtered by visibility and scored by BM25
with the asker's statistics. Nothing here reads another audience's postings.
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
    match = terms.match(prefixes, [stems for stems, _ in chosen])
    # crowded (a very common word only): the newest postings, by rowid, at most the budget
    postings = ("SELECT rowid FROM memory_terms WHERE memory_terms MATCH ? "
                "ORDER BY rowid DESC LIMIT ?")
    where, params = visible_sql(visibility, now)
    rows = db.execute(
        f"SELECT m.n, m.id, m.words FROM memories m WHERE m.n IN ({postings}) AND {where}",
        [match, budget, *params],
    ).fetchall()
    marks = ",".join("?" * len(keys))
    docs, tokens = db.execute(
        f"SELECT coalesce(sum(docs), 0), coalesce(sum(tokens), 0) FROM memory_term_stats "
        f"WHERE key IN ({marks})", keys,
    ).fetchone()
    stats = terms.Stats(int(docs), int(tokens))
    scored = terms.bm25(rows, _frequencies(db, prefixes, chosen, rows, total > budget),
                        terms.weights(chosen, stats.docs), stats)
    return [memory_id for _, _, memory_id in scored[:limit]]


def _frequencies(
    db: sqlite3.Connection, prefixes: list[str], chosen: list[tuple[tuple[str, ...], int]],
    rows: list[tuple[int, str, int]], crowded: bool,
) -> dict[int, dict[str, int]]:
    """Each candidate's count of each chosen stem. From the index's instances when the
    chosen terms' postings fit the budget; for a crowded term (more postings than that),
    from the candidates' own words, which are at most the budget."""
    stems = {s for phrase, _ in chosen for s in phrase}
    counts: dict[int, dict[str, int]] = {}
    if crowded:
        marks = ",".join("?" * len(rows))
        for n, text in db.execute(f"SELECT n, text FROM memories WHERE n IN ({marks})",
                                  [r[0] for r in rows]):
            found = counts.setdefault(n, {})
            for w in terms.words(text):
                if w in stems:
                    found[w] = found.get(w, 0) + 1
        return counts
    cut = len(prefixes[0])
    wanted = [p + s for s in stems for p in prefixes]
    marks = ",".join("?" * len(wanted))
    for n, term, count in db.execute(
        f"SELECT doc, term, count(*) FROM memory_term_instances WHERE term IN ({marks}) "
        "GROUP BY doc, term", wanted,
    ):
        found = counts.setdefault(n, {})
        found[term[cut:]] = found.get(term[cut:], 0) + count
    return counts
