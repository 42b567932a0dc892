"""Conversation neighbours: what was said right around a strong match counts with it.

A memory is learned from one moment of a conversation; the answer to "who played at the
birthday concert?" is often the memory stored right *after* the one that names the
concert, and sometimes the one right before. After fusion, each of the best few
candidates lends part of its score to its neighbours: the same person's current memory
stored just before and just after it, from the same channel and at most ``GAP`` apart
(a neighbour from another day or another chat is no context). A neighbour the asker may
not see is never returned by the store, so it never gets a score.

The weights were set on the LoCoMo development half (``bench.memory --only scale``) on a
coarse grid (the memory after: 0.3 … 0.9, before: 0 or 0.2, head 3 … 10), where every
setting gained 4–7 points of evidence in the prompt; LoCoMo stores one dialogue turn per
memory, the layout where neighbours matter most.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

GAP = timedelta(minutes=30)
AFTER = 0.5  # the share of a match's score the memory stored right after it gets
BEFORE = 0.2  # ... and the one right before it
HEAD = 5  # how many of the best candidates lend to their neighbours


@dataclass(frozen=True, slots=True)
class Adjacent:
    """A memory's visible neighbours in the order the person's memories were stored."""

    before: str | None = None
    after: str | None = None


def near(channel: str, at: datetime, other_channel: str, other_at: datetime,
         gap: timedelta = GAP) -> bool:
    """Whether two memories come from one stretch of one conversation."""
    return channel == other_channel and abs(other_at - at) <= gap


def lend(scores: Mapping[str, float], head: Sequence[str],
         adjacent: Mapping[str, Adjacent]) -> dict[str, float]:
    """``scores`` with each head memory's neighbours raised by a share of its score."""
    out = dict(scores)
    for memory_id in head:
        found = adjacent.get(memory_id)
        if found is None:
            continue
        score = scores[memory_id]
        for neighbour, share in ((found.after, AFTER), (found.before, BEFORE)):
            if neighbour is not None:
                out[neighbour] = out.get(neighbour, 0.0) + share * score
    return out


def ranking(scores: Mapping[str, float]) -> list[str]:
    """Best first; ties keep the order of ``scores`` (first seen first)."""
    return sorted(scores, key=lambda item: -scores[item])
