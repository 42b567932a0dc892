"""Conversations and their turns on SQLite (the ConversationStore role), on the Store's
connection. A finished turn is written with its message's status by the Store's commit
(``core.store.sqlite_commit``)."""

from __future__ import annotations

from datetime import datetime

from core.codec import quoted_from_json
from core.conversations.model import ConversationState, Turn
from core.db.connection import OnConnection, now_iso
from core.events import ConversationKey
from core.history import trace_from_json
from core.ids import InboundId
from core.provenance import Origin


class SQLiteConversations(OnConnection):
    async def conversation(self, key: ConversationKey) -> ConversationState:
        row = self.db.execute(
            "SELECT epoch, summary, summary_upto, summary_origin FROM conversations WHERE key = ?",
            (str(key),)).fetchone()
        if not row:
            return ConversationState()
        return ConversationState(row[0], row[1], row[2], Origin(row[3]))

    async def turn_count(self, key: ConversationKey) -> int:
        """Turns kept in the current epoch (a count: for /memory, not for every turn)."""
        row = self.db.execute(
            "SELECT count(*) FROM turns WHERE conversation = ? AND command = 0 AND epoch = "
            "coalesce((SELECT epoch FROM conversations WHERE key = ?), 0)",
            (str(key), str(key)),
        ).fetchone()
        return int(row[0])

    async def history(self, key: ConversationKey, after_seq: int, limit: int) -> list[Turn]:
        rows = self.db.execute(
            "SELECT seq, role, author, text, tokens, created_at, quoted, read_quoted, person_id, "
            "trace, origin FROM turns "
            "WHERE conversation = ? AND command = 0 AND epoch = "
            "  coalesce((SELECT epoch FROM conversations WHERE key = ?), 0) AND seq > ? "
            "ORDER BY seq DESC LIMIT ?",
            (str(key), str(key), after_seq, limit),
        ).fetchall()
        return [
            Turn(seq, role, author, text, tokens, datetime.fromisoformat(created),
                 quoted=quoted_from_json(quoted), read_quoted=bool(read), person_id=person,
                 trace=trace_from_json(trace), origin=Origin(origin))
            for seq, role, author, text, tokens, created, quoted, read, person, trace, origin
            in reversed(rows)
        ]

    async def recent(self, key: ConversationKey,
                     limit: int) -> tuple[ConversationState, list[Turn]]:
        state = await self.conversation(key)
        return state, await self.history(key, state.summary_upto, limit)

    async def transcript(self, key: ConversationKey, limit: int) -> list[Turn]:
        """The newest ``limit`` turns of the current epoch as the person saw them, commands
        and their answers included (for showing, never for a prompt)."""
        rows = self.db.execute(
            "SELECT seq, role, author, text, tokens, created_at, command, inbound_id, origin "
            "FROM turns WHERE conversation = ? AND epoch = "
            "  coalesce((SELECT epoch FROM conversations WHERE key = ?), 0) "
            "ORDER BY seq DESC LIMIT ?",
            (str(key), str(key), limit),
        ).fetchall()
        return [
            Turn(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]), bool(r[6]),
                 InboundId(r[7] or ""), origin=Origin(r[8]))
            for r in reversed(rows)
        ]

    async def set_summary(
        self, key: ConversationKey, epoch: int, summary: str, upto_seq: int, origin: Origin,
    ) -> None:
        self.db.execute(
            "UPDATE conversations SET summary = ?, summary_upto = ?, summary_origin = ? "
            "WHERE key = ? AND epoch = ? AND summary_upto < ?",
            (summary, upto_seq, origin.value, str(key), epoch, upto_seq),
        )

    async def reset(self, key: ConversationKey) -> None:
        self.db.execute(
            "INSERT INTO conversations (key, epoch, updated_at) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET epoch = epoch + 1, summary = '', summary_upto = 0, "
            "summary_origin = 'kith'",
            (str(key), now_iso()),
        )

    async def forget(self, key: ConversationKey) -> int:
        db, k = self.db, str(key)
        with db:
            db.execute("BEGIN")
            deleted = db.execute(
                "DELETE FROM turns WHERE conversation = ? AND command = 0", (k,)).rowcount
            db.execute("DELETE FROM turns WHERE conversation = ?", (k,))
            db.execute("DELETE FROM inbox WHERE conversation = ? AND status NOT IN "
                       "('pending', 'answered', 'held')", (k,))
            db.execute(
                "UPDATE conversations SET summary = '', summary_upto = 0, summary_origin = 'kith' "
                "WHERE key = ?", (k,)
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
