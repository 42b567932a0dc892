"""How the channels of this process share work with other replicas: chosen where the store is.

SQLite (one process): it always leads, a reply streams in-process, channel state is files.
PostgreSQL (``KITH_DATABASE_URL``): leader election per "<channel>/<bot>" on advisory locks,
the reply relay on LISTEN/NOTIFY, channel state in ``channel_state`` rows.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from core.channel_state import ChannelState
from core.coordination import Leadership, LocalLeadership, LocalLeases, TurnLeases
from core.logging import get_logger
from core.memory.learner import Learner
from core.relay import LocalRelay, ReplyRelay

log = get_logger("kith.coordination")
REPLICATED_SCHEDULER_SLEEP = 5.0  # seconds: schedules written by another replica are seen
REPLICATED_ADOPT_EVERY = 30.0  # seconds: learning work a dead replica had noted is taken up


@dataclass
class Coordination:
    leadership: Leadership
    relay: ReplyRelay
    leases: TurnLeases = field(default_factory=LocalLeases)  # who runs a conversation's turns
    _pool: Any = None  # psycopg_pool.AsyncConnectionPool (PostgreSQL)
    _own_pool: bool = False

    def state_for(self, scope: str) -> ChannelState | None:
        """The shared state of one channel ("<channel>/<bot>"); None: files in its dir."""
        if self._pool is None:
            return None
        from core.store.postgres.channel_state import PostgresChannelState

        return PostgresChannelState(self._pool, scope)

    async def open(self) -> None:
        if self._own_pool:
            await self._pool.open()
        opener = getattr(self.relay, "open", None)
        if opener is not None:
            await opener()
        await self.leases.open()  # our presence, before this replica takes any conversation

    async def close(self) -> None:
        await self.leases.close()  # frees our presence: other replicas take over at once
        closer = getattr(self.relay, "close", None)
        if closer is not None:
            await closer()
        if self._own_pool:
            await self._pool.close()


def local() -> Coordination:
    return Coordination(LocalLeadership(), LocalRelay())


def postgres(url: str, pool: Any = None, *, takeover: float = 1.0) -> Coordination:
    """Replicas on one database. ``pool``: the store's, when it has one (else a small own)."""
    from psycopg_pool import AsyncConnectionPool

    from core.store.postgres.leader import PostgresLeadership
    from core.store.postgres.leases import PostgresLeases
    from core.store.postgres.relay import PostgresRelay

    own = pool is None
    if own:
        pool = AsyncConnectionPool(url, min_size=1, max_size=4, open=False,
                                   kwargs={"autocommit": True})
    return Coordination(PostgresLeadership(url, takeover=takeover), PostgresRelay(url, pool),
                        PostgresLeases(url), pool, own)


def database_url(settings: Any) -> str | None:
    """``KITH_DATABASE_URL`` from the settings, when set (a SecretStr or a str)."""
    url = getattr(settings, "database_url", None)
    if url is None:
        return None
    secret = getattr(url, "get_secret_value", None)
    value = secret() if secret is not None else str(url)
    return value or None


def for_store(settings: Any, store: object) -> Coordination:
    url = database_url(settings)
    if url is None:
        return local()
    return postgres(url, getattr(store, "pool", None))


async def adopt_learning(learner: Learner, every: float = REPLICATED_ADOPT_EVERY) -> None:
    """Replicas: now and then, take up learning work that a replica which died had noted."""
    while True:
        await asyncio.sleep(every)
        try:
            await learner.adopt()
        except Exception as err:  # the database is away: the next round tries again
            log.warning("learning_adopt_failed", error=type(err).__name__)
