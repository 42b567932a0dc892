"""Per-audience words for SQLite lexical search, and BM25 computed from the asker's own data.

A memory is seen by one *audience*: its owner (private), its owner and whoever shares a
group with them (shared), or one group (a group-scoped memory). ``memory_terms`` (FTS5,
contentless) indexes each word of a memory prefixed by a short code of its audience, so a
word's postings are one audience's postings: counting them, pruning to the postings budget
and the crowded fallback cost what the asker's own memories cost, and another person's
100k memories that use the same words are never read. BM25 is computed here from the
asker's candidates with the asker's statistics (documents and tokens from
``memory_term_stats``, document frequencies from the asker's postings), so another
person's data changes neither a score nor the ranking.

The index rows are written by triggers through the SQL functions registered by
:func:`register` (``kith_terms``, ``kith_words``, ``kith_key``); they must stay
deterministic, since a contentless FTS5 row is deleted by repeating its exact tokens. A
change to :func:`words` or :func:`stem` needs a migration that rebuilds ``memory_terms``.
"""

from __future__ import annotations

import hashlib
import math
import re
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

from core.memory.lexical import STOPWORDS
from core.memory.model import GROUP_PREFIX, SHARED, Visibility

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CODE = "bcdfghjklmnpqrstvwxz"  # consonants: a code never ends in a vowel-like letter
CODE_LEN = 6
K1, B = 1.2, 0.75


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """A light English suffix strip (plural, -ing, -ed, final e), the same for documents
    and queries: "hiking", "hikes", "hiked" and "hike" are one term."""
    if len(word) <= 3 or not word.isalpha():
        return word
    if word.endswith("ies") and len(word) > 4:
        return word[:-3] + "y"
    if word.endswith("sses"):
        word = word[:-2]
    elif word.endswith("ing") and len(word) > 5:
        word = word[:-3]
    elif word.endswith("ed") and len(word) > 4:
        word = word[:-2]
    elif word.endswith("s") and not word.endswith(("ss", "us", "is")):
        word = word[:-1]
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeiouls":
        word = word[:-1]  # running -> runn -> run
    if word.endswith("e") and len(word) > 3:
        word = word[:-1]
    return word


def words(text: str) -> list[str]:
    """A memory's terms in order: letters-and-digits runs, lower-cased, stemmed."""
    return [stem(w) for w in _TOKEN.findall(text.lower())]


def query_words(text: str, max_terms: int = 16) -> list[str]:
    """The distinct content terms of a query (stopwords and one-letter words left out)."""
    seen: list[str] = []
    for word in _TOKEN.findall(text.lower()):
        if word in STOPWORDS or len(word) < 2:
            continue
        term = stem(word)
        if term not in seen:
            seen.append(term)
    return seen[:max_terms]


def audience(person_id: str, scope: str) -> str:
    if scope.startswith(GROUP_PREFIX):
        return "g" + scope
    return ("s" if scope == SHARED else "p") + person_id


def audiences(v: Visibility) -> list[str]:
    """The audiences whose memories ``v`` may see (the visibility filter still applies)."""
    keys: list[str] = []
    if v.owner:
        keys += [audience(v.owner, "private"), audience(v.owner, SHARED)]
    if v.group:
        keys.append(audience("", v.group))
    keys += [audience(p, SHARED) for p in v.present]
    return list(dict.fromkeys(keys))


@lru_cache(maxsize=4096)
def code(key: str) -> str:
    digest = hashlib.sha1(key.encode()).digest()
    return "".join(_CODE[b % len(_CODE)] for b in digest[:CODE_LEN])


def indexed(person_id: str, scope: str, text: str) -> str:
    """What ``memory_terms`` indexes for a memory: each term behind its audience's code."""
    prefix = code(audience(person_id, scope))
    return " ".join(prefix + w for w in words(text))


def register(db: sqlite3.Connection) -> None:
    """The SQL functions the ``memory_terms`` triggers call (on every writing connection)."""
    db.create_function("kith_terms", 3, indexed, deterministic=True)
    db.create_function("kith_words", 1, lambda text: len(words(text)), deterministic=True)
    db.create_function("kith_key", 2, audience, deterministic=True)


def match(prefixes: Sequence[str], terms: Iterable[str]) -> str:
    """An FTS5 query for any of ``terms`` in any of the audiences."""
    return " OR ".join(f'"{p}{t}"' for t in terms for p in prefixes)


@dataclass(frozen=True, slots=True)
class Stats:
    docs: int
    tokens: int


def idf(docs: int, df: int) -> float:
    """FTS5's idf: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6."""
    value = math.log((docs - df + 0.5) / (df + 0.5)) if docs > 0 else 0.0
    return value if value > 0 else 1e-6


def bm25(
    candidates: Sequence[tuple[int, str, str]], df: dict[str, int], stats: Stats
) -> list[tuple[float, int, str]]:
    """(score, n, id) of each (n, id, text) candidate, best first; ties: the older first."""
    weights = {t: idf(stats.docs, d) for t, d in df.items()}
    avgdl = stats.tokens / stats.docs if stats.docs else 1.0
    scored: list[tuple[float, int, str]] = []
    for n, memory_id, text in candidates:
        terms = words(text)
        tf: dict[str, int] = {}
        for t in terms:
            if t in weights:
                tf[t] = tf.get(t, 0) + 1
        norm = K1 * (1 - B + B * len(terms) / max(avgdl, 1e-9))
        score = sum(weights[t] * f * (K1 + 1) / (f + norm) for t, f in tf.items())
        scored.append((score, n, memory_id))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return scored
