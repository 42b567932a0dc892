"""A finished turn and its message's status on SQLite, in one transaction (the TurnCommit
role of ``core.inbox.store``): the conversation's row, its turns and the inbox row. It
writes the tables of two features (conversations, inbox), so it lives with the Store, the
one place that knows them all."""

from __future__ import annotations

from core.codec import quoted_to_json
from core.conversations.model import TurnRecord
from core.db.connection import OnConnection, now_iso
from core.history import reply_origin, trace_to_json, user_origin
from core.inbox.model import InboxStatus


class SQLiteTurnCommit(OnConnection):
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

