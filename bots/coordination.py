"""How the channels of this process share work with other replicas: chosen where the store is.

SQLite (one process): it always leads, a reply streams in-process, channel state is files.
PostgreSQL (``KITH_DATABASE_URL``): leader election per "<channel>/<bot>" on advisory locks,
the reply relay on LISTEN/NOTIFY, channel state in ``channel_state`` rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from core.channel_state import ChannelState
from core.coordination import Leadership, LocalLeadership
from core.relay import LocalRelay, ReplyRelay


@dataclass
class Coordination:
    leadership: Leadership
    relay: ReplyRelay
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

    async def close(self) -> None:
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
    from core.store.postgres.relay import PostgresRelay

    own = pool is None
    if own:
        pool = AsyncConnectionPool(url, min_size=1, max_size=4, open=False,
                                   kwargs={"autocommit": True})
    return Coordination(PostgresLeadership(url, takeover=takeover), PostgresRelay(url, pool),
                        pool, own)


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
