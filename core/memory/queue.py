"""SQLite learning queue: one row per conversation and person, on the Store's connection.

``note`` counts an answered turn (and remembers who said it, so the worker needs no
Inbound); ``claim`` takes a lease on the row so only one worker extracts it (a replica
that dies lets its lease run out); ``said_since`` reads the person's own messages after
the cursor, by index; ``advance`` moves the cursor and keeps what was noted meanwhile.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime

from core.ids import ConversationKey, InboundId, PersonId
from core.memory.model import LearningKey, LearningWork, Said

_WORK = ("conversation, person_id, channel, sender, display_name, is_group, upto_seq, "
         "pending, failures")


def _work(row: tuple[object, ...]) -> LearningWork:
    conv, person, channel, sender, name, group, upto, pending, failures = row
    key = LearningKey(ConversationKey.parse(str(conv)), PersonId(str(person)))  # as stored
    return LearningWork(key, str(channel), str(sender),
                        str(name), bool(group), int(str(upto)), int(str(pending)),
                        int(str(failures)))


class SQLiteLearningQueue:
    def __init__(self, db: Callable[[], sqlite3.Connection]) -> None:
        self._db = db

    async def note(self, work: LearningWork, inbound_id: InboundId, now: float) -> int:
        """Count the answered turn ``inbound_id``. A new row starts its cursor just before
        that turn: what was said before (or learned turn by turn) is not read again."""
        key = work.key
        row = self._db().execute(
            "INSERT INTO memory_learning (conversation, person_id, channel, sender, "
            "display_name, is_group, upto_seq, pending, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, (SELECT coalesce(max(seq), 0) FROM turns "
            "INDEXED BY turns_person_conversation WHERE person_id = ? AND conversation = ? "
            "AND coalesce(inbound_id, '') != ?), 1, ?) "
            "ON CONFLICT (conversation, person_id) DO UPDATE SET pending = pending + 1, "
            "sender = excluded.sender, channel = excluded.channel, "
            "display_name = excluded.display_name, updated_at = excluded.updated_at "
            "RETURNING pending",
            (str(key.conversation), key.person_id, work.channel, work.sender, work.display_name,
             int(work.is_group), key.person_id, str(key.conversation), inbound_id, now),
        ).fetchone()
        return int(row[0])

    async def waiting(self) -> list[LearningWork]:
        rows = self._db().execute(
            f"SELECT {_WORK} FROM memory_learning INDEXED BY memory_learning_pending "
            "WHERE pending > 0 ORDER BY updated_at"
        ).fetchall()
        return [_work(r) for r in rows]

    async def claim(self, key: LearningKey, now: float, lease: float) -> LearningWork | None:
        row = self._db().execute(
            "UPDATE memory_learning SET claimed_until = ? WHERE conversation = ? AND "
            "person_id = ? AND pending > 0 AND (claimed_until IS NULL OR claimed_until < ?) "
            f"RETURNING {_WORK}", (now + lease, str(key.conversation), key.person_id, now),
        ).fetchone()
        return _work(row) if row else None

    async def said_since(self, key: LearningKey, after_seq: int, limit: int) -> list[Said]:
        rows = self._db().execute(
            "SELECT seq, coalesce(inbound_id, ''), text, created_at FROM turns "
            "INDEXED BY turns_person_conversation WHERE person_id = ? AND conversation = ? "
            "AND seq > ? AND role = 'user' AND command = 0 AND text != '' ORDER BY seq LIMIT ?",
            (key.person_id, str(key.conversation), after_seq, limit),
        ).fetchall()
        return [Said(seq, inbound, text, datetime.fromisoformat(at))
                for seq, inbound, text, at in rows]

    async def advance(self, key: LearningKey, upto_seq: int, noted: int) -> None:
        """Turns up to ``upto_seq`` are learned; ``noted`` of the pending ones are done."""
        self._db().execute(
            "UPDATE memory_learning SET upto_seq = max(upto_seq, ?), "
            "pending = max(0, pending - ?), failures = 0 "
            "WHERE conversation = ? AND person_id = ?",
            (upto_seq, noted, str(key.conversation), key.person_id),
        )

    async def release(self, key: LearningKey, failed: bool) -> int:
        """Give the lease back (counting a failure); returns the failures so far."""
        row = self._db().execute(
            "UPDATE memory_learning SET claimed_until = NULL, failures = failures + ? "
            "WHERE conversation = ? AND person_id = ? RETURNING failures",
            (int(failed), str(key.conversation), key.person_id),
        ).fetchone()
        return int(row[0]) if row else 0
