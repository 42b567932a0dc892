"""Per-audience words for SQLite lexical search, and BM25 computed from the asker's own data.

A memory is seen by one *audience*: its owner (private), its owner and whoever shares a
group with them (shared), or one group (a group-scoped memory). ``memory_terms`` (FTS5,
contentless) indexes each word of a memory prefixed by a short code of its audience, so a
word's postings are one audience's postings: counting them, pruning to the postings budget
and the crowded fallback cost what the asker's own memories cost, and another person's
100k memories that use the same words are never read. BM25 is computed (here, or summed
by SQLite in ``sqlite_lexical`` with these weights) from the asker's candidates with the
asker's statistics (documents and tokens from
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
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache
from typing import Any

from core.ids import PersonId
from core.memory import lexical
from core.memory.model import Visibility
from core.memory.scope import GROUP_PREFIX, PRIVATE, SHARED, encode_scope

_TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_CODE = "bcdfghjklmnpqrstvwxz"  # consonants
CODE_LEN = 6
K1, B = 1.2, 0.75


def _latin(ch: str) -> bool:
    return ch < "\u0250" or "\u1e00" <= ch <= "\u1eff"


def fold(text: str) -> str:
    """Lower case, with the combining marks of Latin letters dropped (``café`` is ``cafe``)."""
    out: list[str] = []
    base_latin = False
    for ch in unicodedata.normalize("NFD", text.lower()):
        if unicodedata.combining(ch):
            if base_latin:
                continue
        else:
            base_latin = _latin(ch)
        out.append(ch)
    return unicodedata.normalize("NFC", "".join(out))


def tokens(text: str) -> list[str]:
    """Runs of letters and digits, folded: what a word is on both backends."""
    return _TOKEN.findall(text.lower() if text.isascii() else fold(text))


@lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Snowball English, as PostgreSQL's ``kith_memory`` configuration stems."""
    return str(_stemmer().stemWord(word))


@cache
def _stemmer() -> Any:
    import snowballstemmer  # here: it loads every language's stemmer (``kith serve``'s start)

    return snowballstemmer.stemmer("english")


def words(text: str) -> list[str]:
    """A memory's terms in order: its tokens, stemmed."""
    return [stem(w) for w in tokens(text)]


def query_terms(text: str) -> list[tuple[str, tuple[str, ...]]]:
    """The query's content words (``lexical.fts_terms``), each with its stemmed tokens
    (``foo_bar`` is the phrase ``foo bar``); two words that fold alike stay two terms."""
    out: list[tuple[str, tuple[str, ...]]] = []
    for quoted in lexical.fts_terms(text):
        stems = tuple(words(quoted.strip('"')))
        if stems:
            out.append((quoted, stems))
    return out


def audience(person_id: str, scope: str) -> str:
    """The audience key of a memory row (``scope`` as stored): also SQL's ``kith_key``."""
    if scope.startswith(GROUP_PREFIX):
        return "g" + scope
    return ("s" if scope == SHARED else "p") + person_id


def audiences(v: Visibility) -> list[str]:
    """The audiences whose memories ``v`` may see (the visibility filter still applies)."""
    keys: list[str] = []
    if v.owner:
        keys += [audience(v.owner, PRIVATE), audience(v.owner, SHARED)]
    if v.group:
        keys.append(audience("", encode_scope(v.group)))
    keys += [audience(p, SHARED) for p in v.present]
    return list(dict.fromkeys(keys))


@lru_cache(maxsize=4096)
def code(key: str) -> str:
    digest = hashlib.sha1(key.encode()).digest()
    return "".join(_CODE[b % len(_CODE)] for b in digest[:CODE_LEN])


def indexed(person_id: PersonId, scope: str, text: str) -> str:
    """What ``memory_terms`` indexes for a memory: each term behind its audience's code."""
    prefix = code(audience(person_id, scope))
    return " ".join(prefix + w for w in words(text))


def register(db: sqlite3.Connection) -> None:
    """The SQL functions the ``memory_terms`` triggers call (on every writing connection)."""
    db.create_function("kith_terms", 3, indexed, deterministic=True)
    db.create_function("kith_words", 1, lambda text: len(words(text)), deterministic=True)
    db.create_function("kith_key", 2, audience, deterministic=True)


def match(prefixes: Sequence[str], phrases: Iterable[tuple[str, ...]]) -> str:
    """An FTS5 query for any of the phrases (most are one term) in any of the audiences."""
    return " OR ".join('"' + " ".join(p + t for t in phrase) + '"'
                       for phrase in phrases for p in prefixes)


@dataclass(frozen=True, slots=True)
class Stats:
    docs: int
    tokens: int


def idf(docs: int, df: int) -> float:
    """FTS5's idf: log((N - n + 0.5) / (n + 0.5)), floored at 1e-6."""
    value = math.log((docs - df + 0.5) / (df + 0.5)) if docs > 0 else 0.0
    return value if value > 0 else 1e-6


def weights(chosen: Sequence[tuple[tuple[str, ...], int]], docs: int) -> dict[str, float]:
    """Each stem's share of its terms' idf (a phrase of k stems gives each idf/k; two terms
    with one stem count twice), as ``core.memory.postgres_search`` weighs them."""
    weight: dict[str, float] = {}
    for stems, df in chosen:
        for s in stems:
            weight[s] = weight.get(s, 0.0) + idf(docs, df) / len(stems)
    return weight


def bm25(
    candidates: Sequence[tuple[int, str, int]], tf: dict[int, dict[str, int]],
    weight: dict[str, float], stats: Stats,
) -> list[tuple[float, int, str]]:
    """(score, n, id) of each (n, id, words) candidate given its stems' counts ``tf``,
    best first; ties (to 1e-9, not the order of a sum) go to the older memory."""
    avgdl = stats.tokens / stats.docs if stats.docs else 1.0
    scored: list[tuple[float, int, str]] = []
    for n, memory_id, length in candidates:
        norm = K1 * (1 - B + B * length / max(avgdl, 1e-9))
        score = sum(weight[t] * f * (K1 + 1) / (f + norm) for t, f in tf.get(n, {}).items()
                    if t in weight)
        scored.append((round(score, 9), n, memory_id))
    scored.sort(key=lambda s: (-s[0], s[1]))
    return scored
