"""Words for PostgreSQL full-text search, tokenised in Python the way FTS5 ``unicode61`` does.

Documents and queries go through the same :func:`document` here before PostgreSQL sees
them, so the database's locale never decides what a word is: PostgreSQL's own parser would
keep ``ana@example.com`` or ``x.org/a`` as single tokens, and under a ``C`` locale it does
not lower-case ``É``. Here a word is a run of letters and digits, lower-cased, with the
diacritics of Latin letters removed (``café`` finds ``cafe``, as in SQLite); other scripts
keep their marks. PostgreSQL then stems each word with the ``kith_memory`` configuration
(snowball English, no stopwords; see ``core.memory.schema``), as SQLite's ``porter`` does.

Why not ``simple``: no stemming, so "gardens" would not find "garden". Why not one
language per memory: people mix languages and a wrong guess stems worse than English
does; the English stemmer only strips English suffixes, which leaves most other words be.
Neither backend matches prefixes (``gard`` does not find ``garden``): recall asks for the
words of a message, and prefixes of short words would crowd the postings budget.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from core.memory import lexical
from core.memory.terms import fold, tokens

__all__ = ["bm25_idf", "choose", "document", "fold", "query_terms", "tokens"]

CONFIG = "kith_memory"

def document(text: str) -> tuple[str, int]:
    """What ``to_tsvector(kith_memory, …)`` is given for ``text``, and its token count."""
    words = tokens(text)
    return " ".join(words), len(words)


def query_terms(text: str) -> list[tuple[str, str]]:
    """The query's content words as SQLite's ``lexical.fts_terms`` picks them (its quoted
    term is the key), each with the tokens ``phraseto_tsquery`` matches (``foo_bar`` is
    the phrase ``foo bar``). Two words that fold alike (``café``, ``cafe``) stay two terms,
    as on FTS5."""
    terms: list[tuple[str, str]] = []
    for quoted in lexical.fts_terms(text):
        words = " ".join(tokens(quoted.strip('"')))
        if words:
            terms.append((quoted, words))
    return terms


def bm25_idf(docs: int, df: int) -> float:
    """FTS5's idf: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6."""
    value = math.log((docs - df + 0.5) / (df + 0.5)) if docs > 0 else 0.0
    return value if value > 0 else 1e-6


def choose(counted: Sequence[tuple[int, str]], budget: int) -> tuple[list[str], bool]:
    """Rarest terms first while their postings fit ``budget`` (see ``lexical.prune_terms``);
    True when even the rarest alone exceeds it."""
    chosen: list[str] = []
    total = 0
    for df, term in sorted(counted):
        if df == 0 or (chosen and total + df > budget):
            continue
        chosen.append(term)
        total += df
    return chosen, total > budget
