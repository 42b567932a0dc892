"""Hybrid recall: BM25 (always) and embeddings (when configured), fused by rank.

A third, short ranking holds the time-bound memories still true now. All are filtered by
the same :class:`Visibility` inside the store, so a memory a prompt may not see is never
even a candidate. Reciprocal rank fusion needs no score
calibration between BM25 and cosine; the fused list is cut to ``k`` and to a token budget.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from core.memory.model import Memory, MemoryStore, Visibility
from core.tokens import estimate_tokens

RRF_K = 60
CURRENT_WEIGHT = 2.0  # an active time-bound memory counts like agreement of two searches


def rrf(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[str]:
    """Reciprocal rank fusion: score(d) = Σ w / (k + rank). Ties keep first-seen order."""
    scores: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        weight = weights[n] if weights is not None else 1.0
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return sorted(scores, key=lambda item: -scores[item])


@dataclass(frozen=True, slots=True)
class RecallQuery:
    visibility: Visibility
    text: str
    now: datetime
    vector: Sequence[float] | None = None
    k: int = 8
    budget_tokens: int = 400
    pool: int = 30  # candidates taken from each search before fusion


def memory_line(memory: Memory) -> str:
    when = memory.source.at.strftime("%Y-%m-%d")
    return f"- {memory.text} ({memory.source.channel}, {when})"


async def recall(store: MemoryStore, query: RecallQuery) -> list[Memory]:
    rankings = [await store.search_text(query.visibility, query.text, query.now, query.pool)]
    if query.vector is not None:
        rankings.append(
            await store.search_vectors(query.visibility, query.vector, query.now, query.pool)
        )
    # what is true only for now is context for everything said meanwhile
    rankings.append(await store.search_current(query.visibility, query.now, 3))
    weights = [1.0] * (len(rankings) - 1) + [CURRENT_WEIGHT]
    fused = rrf(rankings, weights=weights)[: query.k]
    chosen: list[Memory] = []
    used = 0
    for memory in await store.memories_by_id(fused):
        if not memory.active(query.now):  # belt and braces: the store filtered already
            continue
        cost = estimate_tokens(memory_line(memory)) + 1
        if used + cost > query.budget_tokens:
            break
        chosen.append(memory)
        used += cost
    return chosen
