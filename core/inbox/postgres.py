"""The inbox and its delivery state on PostgreSQL (the InboxStore and DeliveryStore roles).

Arrival order is the identity column ``seq`` (commit order within a conversation, see
``record_inbound``); a message recorded twice (a webhook retried,
another replica) is one row, by its id.
"""

from __future__ import annotations

from datetime import datetime

from core.codec import inbound_from_json, inbound_to_json
from core.db.pool import OnPool
from core.events import ConversationKey, Inbound
from core.ids import InboundId, PlatformMessageId
from core.inbox.model import Delivery, InboxStatus
from core.inbox.schema import OPEN


class PostgresInbox(OnPool):
    async def record_inbound(self, inbound: Inbound) -> bool:
        async with self._pool.connection() as conn:
            # The conversation's advisory lock is taken before the row gets its ``seq``
            # and held to the commit, so within a conversation seq order is commit order:
            # a replica reading the open messages never sees a later one before an earlier.
            cur = await conn.execute(
                "WITH turn AS (SELECT pg_advisory_xact_lock(hashtextextended(%(c)s, 14))) "
                "INSERT INTO inbox (id, conversation, payload, received_at) "
                "SELECT %(id)s, %(c)s, %(p)s, %(at)s FROM turn ON CONFLICT (id) DO NOTHING",
                {"id": inbound.id, "c": str(inbound.conversation),
                 "p": inbound_to_json(inbound), "at": inbound.received_at},
            )
            return cur.rowcount == 1

    async def pending(self) -> list[Inbound]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(f"SELECT payload FROM inbox WHERE {OPEN} ORDER BY seq")
            return [inbound_from_json(str(row[0])) for row in await cur.fetchall()]

    async def open_in(self, conversation: ConversationKey) -> list[Inbound]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT payload FROM inbox WHERE conversation = %s AND {OPEN} ORDER BY seq",
                (str(conversation),))
            return [inbound_from_json(str(row[0])) for row in await cur.fetchall()]

    async def inbox_status(self, inbound_id: InboundId) -> InboxStatus | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute("SELECT status FROM inbox WHERE id = %s", (inbound_id,))
            row = await cur.fetchone()
        return InboxStatus(row[0]) if row else None

    # -- delivery state ------------------------------------------------------------------

    async def delivery(self, inbound_id: InboundId) -> Delivery | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT status, reply, reply_status, platform_ids, answered_at, held_since "
                "FROM inbox WHERE id = %s", (inbound_id,))
            row = await cur.fetchone()
        if row is None:
            return None
        status, reply, reply_status, ids, answered, held = row
        return Delivery(InboxStatus(status), reply, reply_status,
                        tuple(PlatformMessageId(i) for i in ids), answered, held)

    async def _set(self, sql: str, args: tuple[object, ...]) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(sql, args)

    async def record_sent(self, inbound_id: InboundId,
                          platform_ids: tuple[PlatformMessageId, ...]) -> None:
        await self._set("UPDATE inbox SET platform_ids = %s WHERE id = %s",
                        (list(platform_ids), inbound_id))

    async def mark_delivered(self, inbound_id: InboundId,
                             platform_ids: tuple[PlatformMessageId, ...]) -> None:
        await self._set("UPDATE inbox SET status = 'delivered', platform_ids = %s WHERE id = %s",
                        (list(platform_ids), inbound_id))

    async def mark_undeliverable(self, inbound_id: InboundId) -> None:
        await self._set("UPDATE inbox SET status = 'undeliverable' WHERE id = %s", (inbound_id,))

    async def hold(self, inbound_id: InboundId, since: datetime) -> None:
        await self._set(
            "UPDATE inbox SET status = 'held', held_since = coalesce(held_since, %s), "
            "platform_ids = '{}' WHERE id = %s AND status IN ('pending', 'held')",
            (since, inbound_id))

    async def drop_held(self, inbound_id: InboundId) -> None:
        await self._set("UPDATE inbox SET status = 'failed' WHERE id = %s AND status = 'held'",
                        (inbound_id,))
