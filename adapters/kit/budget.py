"""A platform's rate budget shared by replicas: each takes its share.

Telegram allows a bot about 30 messages a second in all; three replicas that each allowed
themselves 30 would earn 429s. Every ``every`` seconds a replica counts the live replicas
(their presence in the database) and paces itself at ``budget / replicas``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from core.logging import get_logger

log = get_logger("kith.kit")
SHARE_EVERY = 10.0  # seconds between counts of the live replicas


async def share_budget(replicas: Callable[[], Awaitable[int]], apply: Callable[[int], None],
                       every: float = SHARE_EVERY) -> None:
    """Call ``apply(n)`` with the number of live replicas now and whenever it changes."""
    current = 0
    while True:
        try:
            count = max(1, await replicas())
        except Exception as err:  # the database is away: keep the share we had
            log.warning("replica_count_failed", error=type(err).__name__)
            count = current or 1
        if count != current:
            apply(count)
            current = count
        await asyncio.sleep(every)
