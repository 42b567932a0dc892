"""Conversations and their turns on SQLite (the ConversationStore role)."""

from __future__ import annotations

from datetime import datetime

from core.codec import quoted_from_json, quoted_to_json
from core.events import ConversationKey
from core.history import reply_origin, trace_from_json, trace_to_json, user_origin
from core.ids import InboundId
from core.provenance import Origin
from core.store.base import ConversationState, InboxStatus, Turn, TurnRecord
from core.store.sqlite_connection import OnConnection, now_iso


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

    async def finish_turn(self, record: TurnRecord, status: InboxStatus, *,
                          fence: int | None) -> None:
        """One process: nothing to fence (``fence`` is None)."""
        inbound, key = record.inbound, str(record.inbound.conversation)
        now = now_iso()
        db = self.db
        with db:
            db.execute("BEGIN")
            db.execute(
                "INSERT INTO conversations (key, updated_at) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at",
                (key, now),
            )
            epoch = db.execute(
                "SELECT epoch FROM conversations WHERE key = ?", (key,)
            ).fetchone()[0]
            quoted, read = quoted_to_json(inbound.quoted), int(bool(inbound.quoted))
            rows: list[tuple[str, str, str | None, str, int, str, str, str, str]] = []
            if record.user_text is not None:
                rows.append(("user", inbound.sender.display_name, record.person_id,
                             record.user_text, record.user_tokens, inbound.received_at.isoformat(),
                             quoted, "", user_origin(inbound).value))
            if record.reply_text is not None:
                rows.append(("assistant", "", None, record.reply_text, record.reply_tokens, now,
                             "", trace_to_json(record.trace),
                             reply_origin(inbound, record.trace).value))
            db.executemany(
                "INSERT INTO turns (conversation, epoch, role, author, person_id, inbound_id, "
                "text, tokens, created_at, command, quoted, read_quoted, trace, origin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(key, epoch, r[0], r[1], r[2], inbound.id, r[3], r[4], r[5], record.command,
                  r[6], read, r[7], r[8])
                 for r in rows],
            )
            db.execute(
                "UPDATE inbox SET status = ?, reply = ?, reply_status = ?, answered_at = ? "
                "WHERE id = ?",
                (status.value, record.answer, record.answer_status,
                 now if record.answer else None, inbound.id),
            )

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
