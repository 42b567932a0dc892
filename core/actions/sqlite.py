"""SQLite ActionStore, on the Store's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from core.actions.model import Action, ActionKey, State
from core.ids import ConversationKey, InboundId, PersonId
from core.memory.forgetting import mentions

_COLUMNS = ("inbound_id, idx, person_id, conversation, tool, args, state, summary, reason, "
            "created_at, expires_at, started, result, notice, decided_by")


def _action(row: Sequence[object]) -> Action:
    (inbound, idx, person, conv, tool, args, state, summary, reason, created, expires,
     started, result, notice, by) = row
    return Action(
        key=ActionKey(InboundId(str(inbound)), int(str(idx))), person_id=PersonId(str(person)),
        conversation=ConversationKey.parse(str(conv)),  # as stored
        tool=str(tool), args=str(args), state=State(str(state)),
        summary=str(summary), reason=str(reason),
        created_at=datetime.fromtimestamp(float(str(created)), UTC),
        expires_at=datetime.fromtimestamp(float(str(expires)), UTC), started=bool(started),
        result=str(result), notice=str(notice), decided_by=str(by))


class SQLiteActionStore:
    def __init__(self, db: Callable[[], sqlite3.Connection]) -> None:
        self._db = db

    @property
    def db(self) -> sqlite3.Connection:
        return self._db()

    async def get(self, key: ActionKey) -> Action | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM actions WHERE inbound_id = ? AND idx = ?",
                              (key.inbound_id, key.index)).fetchone()
        return _action(row) if row else None

    async def record(self, action: Action) -> Action:
        self.db.execute(
            f"INSERT OR IGNORE INTO actions ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (action.key.inbound_id, action.key.index, action.person_id, str(action.conversation),
             action.tool, action.args, action.state.value, action.summary, action.reason,
             action.created_at.timestamp(), action.expires_at.timestamp(),
             int(action.started), action.result, action.notice, action.decided_by))
        stored = await self.get(action.key)
        assert stored is not None
        return stored

    async def save(self, action: Action, was: State, was_started: bool) -> bool:
        cur = self.db.execute(
            "UPDATE actions SET state = ?, started = ?, result = ?, notice = ?, decided_by = ? "
            "WHERE inbound_id = ? AND idx = ? AND state = ? AND started = ?",
            (action.state.value, int(action.started), action.result, action.notice,
             action.decided_by, action.key.inbound_id, action.key.index, was.value,
             int(was_started)))
        return cur.rowcount == 1

    async def proposals(self, conversation: ConversationKey, person_id: PersonId) -> list[Action]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM actions WHERE conversation = ? AND person_id = ? "
            "AND state = 'proposed' ORDER BY created_at DESC, inbound_id, idx",
            (str(conversation), person_id)).fetchall()
        return [_action(r) for r in rows]

    async def interrupted(self, conversation: ConversationKey, person_id: PersonId) -> list[Action]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM actions WHERE conversation = ? AND person_id = ? "
            "AND state = 'approved' AND decided_by <> '' ORDER BY inbound_id, idx",
            (str(conversation), person_id)).fetchall()
        return [_action(r) for r in rows]

    async def made_by(self, inbound_id: InboundId) -> list[Action]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM actions WHERE inbound_id = ? AND state = 'proposed' "
            "ORDER BY idx", (inbound_id,)).fetchall()
        return [_action(r) for r in rows]

    async def delete_person(self, person_id: PersonId) -> int:
        return int(self.db.execute("DELETE FROM actions WHERE person_id = ?",
                                   (person_id,)).rowcount)

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        rows = self.db.execute(
            "SELECT inbound_id, idx, args, summary, result, notice FROM actions "
            "WHERE person_id = ?", (person_id,)).fetchall()
        gone = [(r[0], r[1]) for r in rows if any(mentions(str(v), words) for v in r[2:])]
        self.db.executemany("DELETE FROM actions WHERE inbound_id = ? AND idx = ?", gone)
        return len(gone)
