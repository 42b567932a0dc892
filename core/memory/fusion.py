"""Weighted reciprocal rank fusion, and tuning its one weight so it never loses to an input.

``fuse`` scores an item Σ wᵢ / (k + rankᵢ); ties keep first-seen order (the lexical list
comes first). The vector list's ``share`` of the weight is tuned on labelled cases
(bench/memory on real dialogue sets the shipped value). The grid includes both ends: at
share 0 the fused top-k *is* the lexical top-k (vector-only items fill in after it), at
share 1 it is the vector top-k — so the tuned fusion is never below the better input on
the cases it was tuned on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

RRF_K = 60
SHARES = tuple(i / 20 for i in range(21))  # 0, 0.05, ... 1


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


def fuse(lexical: Sequence[str], vectors: Sequence[str], share: float) -> list[str]:
    """Lexical and vector rankings fused, the vector list weighing ``share`` (0..1)."""
    return rrf([lexical, vectors], weights=[1.0 - share, share])


@dataclass(frozen=True, slots=True)
class Case:
    """One labelled query: both rankings and the ids that answer it."""

    lexical: tuple[str, ...]
    vectors: tuple[str, ...]
    relevant: frozenset[str]


def recall_at(ranked: Sequence[str], relevant: frozenset[str], k: int) -> float:
    return len(relevant.intersection(ranked[:k])) / len(relevant) if relevant else 0.0


def mean_recall(cases: Sequence[Case], share: float | None, k: int) -> float:
    """Mean recall@k of the fusion at ``share`` (None: lexical alone; use 1.0 for vectors
    through ``fuse``, or pass the lists yourself)."""
    if not cases:
        return 0.0
    total = 0.0
    for case in cases:
        ranked = case.lexical if share is None else fuse(case.lexical, case.vectors, share)
        total += recall_at(ranked, case.relevant, k)
    return total / len(cases)


def tune(cases: Sequence[Case], ks: Sequence[int] = (5, 10),
         shares: Sequence[float] = SHARES) -> float:
    """The vector share with the best mean recall over ``ks`` (ties: the smallest share)."""
    def objective(share: float) -> float:
        return sum(mean_recall(cases, share, k) for k in ks)
    return max(shares, key=lambda s: (objective(s), -s))
