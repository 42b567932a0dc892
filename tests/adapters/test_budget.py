"""Replicas split a platform's rate budget: each paces itself at budget / live replicas."""

from __future__ import annotations

import asyncio

from adapters.kit.budget import share_budget
from adapters.telegram.send import Limiter


async def test_the_share_follows_the_live_replicas() -> None:
    counts = [1, 3, 3, 2]
    limiter = Limiter(30.0)

    async def replicas() -> int:
        return counts.pop(0) if len(counts) > 1 else counts[0]

    applied: list[int] = []

    def apply(n: int) -> None:
        applied.append(n)
        limiter.gap = n / 30.0

    task = asyncio.create_task(share_budget(replicas, apply, every=0.01))
    await asyncio.sleep(0.2)
    task.cancel()
    assert applied == [1, 3, 2]  # applied on change only
    assert limiter.gap == 2 / 30.0


async def test_a_failed_count_keeps_the_share() -> None:
    calls = 0

    async def replicas() -> int:
        nonlocal calls
        calls += 1
        if calls > 1:
            raise OSError("database away")
        return 3

    applied: list[int] = []
    task = asyncio.create_task(share_budget(replicas, applied.append, every=0.01))
    await asyncio.sleep(0.1)
    task.cancel()
    assert applied == [3]
