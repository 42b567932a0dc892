"""What replicas share, picked where the store is: on PostgreSQL, turn leases through the
database; on SQLite (one process), local ones that grant everything."""

from __future__ import annotations

import asyncio

from core.coordination import LocalLeases, TurnLeases
from core.logging import get_logger
from core.memory.learner import Learner
from core.settings import Settings

log = get_logger("kith.replicas")

REPLICATED_SCHEDULER_SLEEP = 5.0  # seconds: schedules written by another replica are seen
REPLICATED_ADOPT_EVERY = 30.0  # seconds: learning work a dead replica had noted is taken up


def turn_leases(settings: Settings) -> TurnLeases:
    url = settings.database_url
    if url is None:
        return LocalLeases()
    from core.store.postgres.leases import PostgresLeases  # the postgres extra

    return PostgresLeases(url.get_secret_value())


async def adopt_learning(learner: Learner, every: float = REPLICATED_ADOPT_EVERY) -> None:
    """Replicas: now and then, take up learning work that a replica which died had noted."""
    while True:
        await asyncio.sleep(every)
        try:
            await learner.adopt()
        except Exception as err:  # the database is away: the next round tries again
            log.warning("learning_adopt_failed", error=type(err).__name__)
