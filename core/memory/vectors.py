"""In-process vector search over one person's (or one group's) memories.

Exact cosine (one matrix-vector product) below ``IVF_MIN_ROWS``; above it an inverted-file
index: spherical k-means lists, rows stored contiguously per list, and a query scores only
the ``nprobe`` nearest lists — a tenth of the rows, so memory bandwidth stays flat as a
person's memories grow. New vectors go to an exactly searched tail and retired ones to a
dead set, so writes never force a rebuild; the owner drops the block when the tail grows.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

IVF_MIN_ROWS = 20_000
PROBE_SHARE = 0.1  # the share of the lists a query scores
Matrix = npt.NDArray[np.float32]


def unit(rows: Matrix) -> Matrix:
    norms = np.linalg.norm(rows, axis=-1, keepdims=True)
    return (rows / np.where(norms == 0, 1, norms)).astype(np.float32, copy=False)


def kmeans(data: Matrix, k: int, iterations: int = 6, seed: int = 0) -> Matrix:
    """Spherical k-means on (a sample of) unit rows; returns unit centroids."""
    rng = np.random.default_rng(seed)
    sample = data[rng.choice(len(data), min(len(data), k * 32), replace=False)]
    centroids = sample[rng.choice(len(sample), k, replace=False)].copy()
    for _ in range(iterations):
        nearest = np.argmax(sample @ centroids.T, axis=1)
        for c in range(k):
            members = sample[nearest == c]
            if len(members):
                centroids[c] = members.sum(axis=0)
        centroids = unit(centroids)
    return centroids


@dataclass(slots=True)
class Block:
    ids: list[str]
    matrix: Matrix  # unit rows; grouped by list when indexed
    shared: npt.NDArray[np.bool_]
    expires: npt.NDArray[np.float64]
    centroids: Matrix | None = None
    offsets: npt.NDArray[np.int64] | None = None  # list c is rows offsets[c]:offsets[c+1]
    tail: list[tuple[str, Matrix, bool, float]] = field(default_factory=list)
    dead: set[str] = field(default_factory=set)
    _stacked: tuple[Matrix, npt.NDArray[np.bool_], npt.NDArray[np.float64]] | None = None

    @classmethod
    def build(cls, ids: list[str], matrix: Matrix, shared: Sequence[bool],
              expires: Sequence[float]) -> Block:
        matrix = unit(matrix)
        shared_a = np.asarray(shared, dtype=np.bool_)
        expires_a = np.asarray(expires, dtype=np.float64)
        if len(ids) < IVF_MIN_ROWS:
            return cls(ids, matrix, shared_a, expires_a)
        k = int(math.sqrt(len(ids)))
        centroids = kmeans(matrix, k)
        nearest = np.concatenate([np.argmax(matrix[i:i + 8192] @ centroids.T, axis=1)
                                  for i in range(0, len(matrix), 8192)])
        order = np.argsort(nearest, kind="stable")
        offsets = np.searchsorted(nearest[order], np.arange(k + 1)).astype(np.int64)
        return cls([ids[i] for i in order], np.ascontiguousarray(matrix[order]),
                   shared_a[order], expires_a[order], centroids, offsets)

    @property
    def size(self) -> int:
        return len(self.ids) + len(self.tail)

    def add(self, memory_id: str, vector: Sequence[float], shared: bool, expires: float) -> None:
        row = unit(np.asarray(vector, dtype=np.float32))
        self.tail.append((memory_id, row, shared, expires))

    def _ranges(self, query: Matrix) -> list[tuple[int, int]]:
        """The row ranges of the ``nprobe`` lists nearest the query (all rows: exact)."""
        if self.centroids is None or self.offsets is None:
            return [(0, len(self.ids))]
        nprobe = max(8, int(len(self.centroids) * PROBE_SHARE))
        near = np.sort(np.argpartition(-(self.centroids @ query), nprobe - 1)[:nprobe])
        return [(int(self.offsets[c]), int(self.offsets[c + 1])) for c in near]

    def _tail(self) -> tuple[Matrix, npt.NDArray[np.bool_], npt.NDArray[np.float64]]:
        """The tail as arrays (stacked once per change, not per query)."""
        if self._stacked is None or len(self._stacked[0]) != len(self.tail):
            self._stacked = (np.stack([t[1] for t in self.tail]),
                             np.array([t[2] for t in self.tail], dtype=np.bool_),
                             np.array([t[3] for t in self.tail], dtype=np.float64))
        return self._stacked

    def search(self, query: Matrix, stamp: float, shared_only: bool,
               limit: int) -> list[tuple[float, str]]:
        """The ``limit`` best (cosine, id) of the live rows, best first: the probed lists
        scored into one array and partially sorted once, then the tail."""
        ranges = [(lo, hi) for lo, hi in self._ranges(query) if hi > lo]
        found: list[tuple[float, str]] = []
        if ranges:
            scores = np.concatenate([self.matrix[lo:hi] @ query for lo, hi in ranges])
            rows = np.concatenate([np.arange(lo, hi) for lo, hi in ranges])
            mask = self.expires[rows] > stamp
            if shared_only:
                mask &= self.shared[rows]
            scores = np.where(mask, scores, -np.inf)
            top = min(limit + len(self.dead), len(scores))  # dead rows leave after the cut
            best = np.argpartition(-scores, top - 1)[:top]
            found = [(float(scores[i]), self.ids[rows[i]]) for i in best
                     if np.isfinite(scores[i])]
        if self.tail:
            matrix, tail_shared, tail_expires = self._tail()
            tail_scores = matrix @ query
            live = (tail_expires > stamp) & (tail_shared | (not shared_only))
            found += [(float(tail_scores[i]), self.tail[i][0]) for i in np.flatnonzero(live)]
        if self.dead:
            found = [f for f in found if f[1] not in self.dead]
        found.sort(key=lambda item: -item[0])
        return found[:limit]
