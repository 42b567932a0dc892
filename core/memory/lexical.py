"""Lexical side of recall: query terms, stopwords and the postings budget (the pruning is
in ``sqlite_lexical`` and ``core.memory.postgres_search``)."""

from __future__ import annotations

import re

_WORD = re.compile(r"\w+", re.UNICODE)
_STOP = (
    "a an and are as at be but by do does did for from has have i in is it its me my of on "
    "or so that the their them they this to was we were what when where which who why will "
    "with you your our us he she his her him how can could would should am been not no yes "
    "about into than then there these those just also any all"
)
STOPWORDS = frozenset(_STOP.split())


# BM25 scores at most about this many documents per query. 2,000 (was 1,000) on the
# LoCoMo development half with 100k memories of the person's own (bench.memory --only scale,
# issue 24): evidence in the prompt .490 -> .514 hybrid, .364 -> .399 lexical, for about
# 2-4 ms more CPU per lexical search; unchanged at LoCoMo's size
POSTINGS_BUDGET = 2000


def fts_terms(text: str, max_terms: int = 16) -> list[str]:
    """The distinct content words of ``text``, quoted for FTS5."""
    seen: list[str] = []
    for word in _WORD.findall(text.lower()):
        if word not in STOPWORDS and word not in seen and len(word) > 1:
            seen.append(word)
    return [f'"{w}"' for w in seen[:max_terms]]


def fts_query(text: str) -> str:
    """An FTS5 OR-query of the distinct content words of ``text``."""
    return " OR ".join(fts_terms(text))
