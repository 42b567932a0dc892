"""The inbox and its delivery state on SQLite (the InboxStore and DeliveryStore roles),
on the Store's connection."""

from __future__ import annotations

import json
from datetime import datetime

from core.codec import inbound_from_json, inbound_to_json
from core.db.connection import OnConnection
from core.events import Inbound
from core.ids import ConversationKey, InboundId, PlatformMessageId
from core.inbox.model import Delivery, InboxStatus


class SQLiteInbox(OnConnection):
    async def record_inbound(self, inbound: Inbound) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO inbox (id, conversation, payload, received_at) "
            "VALUES (?, ?, ?, ?)",
            (inbound.id, str(inbound.conversation), inbound_to_json(inbound),
             inbound.received_at.isoformat()),
        )
        return cur.rowcount == 1

    async def pending(self) -> list[Inbound]:
        rows = self.db.execute(
            "SELECT payload FROM inbox WHERE status IN ('pending', 'answered', 'held') "
            "ORDER BY rowid"
        ).fetchall()
        return [inbound_from_json(r[0]) for r in rows]

    async def open_in(self, conversation: ConversationKey) -> list[Inbound]:
        rows = self.db.execute(
            "SELECT payload FROM inbox WHERE conversation = ? "
            "AND status IN ('pending', 'answered', 'held') ORDER BY rowid",
            (str(conversation),),
        ).fetchall()
        return [inbound_from_json(r[0]) for r in rows]

    async def inbox_status(self, inbound_id: InboundId) -> InboxStatus | None:
        row = self.db.execute("SELECT status FROM inbox WHERE id = ?", (inbound_id,)).fetchone()
        return InboxStatus(row[0]) if row else None

    # -- delivery state ------------------------------------------------------------------

    async def delivery(self, inbound_id: InboundId) -> Delivery | None:
        row = self.db.execute(
            "SELECT status, reply, reply_status, platform_ids, answered_at, held_since "
            "FROM inbox WHERE id = ?", (inbound_id,)).fetchone()
        if row is None:
            return None
        status, reply, reply_status, ids, answered, held = row
        return Delivery(InboxStatus(status), reply, reply_status,
                        tuple(PlatformMessageId(i) for i in json.loads(ids)),
                        datetime.fromisoformat(answered) if answered else None,
                        datetime.fromisoformat(held) if held else None)

    async def record_sent(self, inbound_id: InboundId,
                          platform_ids: tuple[PlatformMessageId, ...]) -> None:
        self.db.execute("UPDATE inbox SET platform_ids = ? WHERE id = ?",
                        (json.dumps(list(platform_ids)), inbound_id))

    async def mark_delivered(self, inbound_id: InboundId,
                             platform_ids: tuple[PlatformMessageId, ...]) -> None:
        self.db.execute("UPDATE inbox SET status = 'delivered', platform_ids = ? WHERE id = ?",
                        (json.dumps(list(platform_ids)), inbound_id))

    async def mark_undeliverable(self, inbound_id: InboundId) -> None:
        self.db.execute("UPDATE inbox SET status = 'undeliverable' WHERE id = ?", (inbound_id,))

    async def hold(self, inbound_id: InboundId, since: datetime) -> None:
        self.db.execute(
            "UPDATE inbox SET status = 'held', held_since = coalesce(held_since, ?), "
            "platform_ids = '[]' WHERE id = ? AND status IN ('pending', 'held')",
            (since.isoformat(), inbound_id))

    async def drop_held(self, inbound_id: InboundId) -> None:
        self.db.execute("UPDATE inbox SET status = 'failed' WHERE id = ? AND status = 'held'",
                        (inbound_id,))
