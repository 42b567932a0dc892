"""Weighted reciprocal rank fusion, tuned so that it never loses to either input.

``fuse`` scores an item Σ wᵢ / (k + rankᵢ); ties keep first-seen order (the lexical list
comes first). Two numbers are tuned on labelled cases (bench/memory on real dialogue sets
the shipped values): the vector list's ``share`` of the weight, and the constant ``k`` —
the classic 60 makes ranks 1 and 30 score almost alike, so any share but ~0.5 degenerates
to "one list, then the other". The grid includes both ends: at share 0 the fused top-k
*is* the lexical top-k (vector-only items fill in after it), at share 1 it is the vector
top-k — so the tuned fusion is never below the better input on the cases it was tuned on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60
SHARES = tuple(i / 20 for i in range(21))  # 0, 0.05, ... 1
CONSTANTS = (1, 2, 3, 5, 10, 20, 60)


@dataclass(frozen=True, slots=True)
class Fusion:
    share: float = 0.5  # the vector list's share of the weight, 0..1
    k: int = RRF_K


def rrf_scores(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> dict[str, float]:
    """Reciprocal rank fusion scores, score(d) = Σ w / (k + rank), in first-seen order."""
    scores: dict[str, float] = {}
    for n, ranking in enumerate(rankings):
        weight = weights[n] if weights is not None else 1.0
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank)
    return scores


def rrf(
    rankings: Sequence[Sequence[str]], k: int = RRF_K, weights: Sequence[float] | None = None
) -> list[str]:
    """Reciprocal rank fusion, best first. Ties keep first-seen order."""
    scores = rrf_scores(rankings, k, weights)
    return sorted(scores, key=lambda item: -scores[item])


def fuse(lexical: Sequence[str], vectors: Sequence[str], fusion: Fusion) -> list[str]:
    """Lexical and vector rankings fused, the vector list weighing ``fusion.share``."""
    return rrf([lexical, vectors], k=fusion.k, weights=[1.0 - fusion.share, fusion.share])


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled query: both rankings and the ids that answer it."""

    lexical: tuple[str, ...]
    vectors: tuple[str, ...]
    relevant: frozenset[str]


def recall_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mean_recall(cases: Sequence[Case], fusion: Fusion | None, k: int) -> float:
    """Mean recall@k of ``fusion`` over the cases (None: the lexical list alone)."""
    if not cases:
        return 0.0
    total = 0.0
    for case in cases:
        ranked = case.lexical if fusion is None else fuse(case.lexical, case.vectors, fusion)
        total += recall_at(ranked, case.relevant, k)
    return total / len(cases)


def tune(cases: Sequence[Case], ks: Sequence[int] = (5, 10), shares: Sequence[float] = SHARES,
         constants: Sequence[int] = CONSTANTS) -> Fusion:
    """The fusion with the best mean recall summed over ``ks`` (ties: the first found)."""
    best, best_score = Fusion(0.0, constants[0]), -1.0
    for k in constants:
        for share in shares:
            fusion = Fusion(share, k)
            score = sum(mean_recall(cases, fusion, depth) for depth in ks)
            if score > best_score + 1e-12:
                best, best_score = fusion, score
    return best
