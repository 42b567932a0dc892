"""SQLite ActionStore, on the Store's connection.

:meth:`atomically` is one ``BEGIN IMMEDIATE`` on that shared connection: statements the
other stores run inside it (a reminder's row) commit with the action's completion. It is
used only for handlers that write Kith's own store without waiting on anything else
(``Policy.atomic``), so no other coroutine's statement runs inside it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from datetime import UTC, datetime

from core.actions.model import Action, ActionKey, State
from core.memory.forgetting import mentions

_COLUMNS = ("inbound_id, idx, person_id, conversation, tool, args, state, summary, reason, "
            "created_at, expires_at, started, result, notice, decided_by")


def _action(row: Sequence[object]) -> Action:
    (inbound, idx, person, conv, tool, args, state, summary, reason, created, expires,
     started, result, notice, by) = row
    return Action(
        key=ActionKey(str(inbound), int(str(idx))), person_id=str(person),
        conversation=str(conv), tool=str(tool), args=str(args), state=State(str(state)),
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
            (action.key.inbound_id, action.key.index, action.person_id, action.conversation,
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

    async def proposals(self, conversation: str, person_id: str) -> list[Action]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM actions WHERE conversation = ? AND person_id = ? "
            "AND state = 'proposed' ORDER BY created_at DESC, inbound_id, idx",
            (conversation, person_id)).fetchall()
        return [_action(r) for r in rows]

    async def interrupted(self, conversation: str, person_id: str) -> list[Action]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM actions WHERE conversation = ? AND person_id = ? "
            "AND state = 'approved' AND decided_by <> '' ORDER BY inbound_id, idx",
            (conversation, person_id)).fetchall()
        return [_action(r) for r in rows]

    async def made_by(self, inbound_id: str) -> list[Action]:
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM actions WHERE inbound_id = ? AND state = 'proposed' "
            "ORDER BY idx", (inbound_id,)).fetchall()
        return [_action(r) for r in rows]

    async def delete_person(self, person_id: str) -> int:
        return int(self.db.execute("DELETE FROM actions WHERE person_id = ?",
                                   (person_id,)).rowcount)

    async def delete_matching(self, person_id: str, words: str) -> int:
        rows = self.db.execute(
            "SELECT inbound_id, idx, args, summary, result, notice FROM actions "
            "WHERE person_id = ?", (person_id,)).fetchall()
        gone = [(r[0], r[1]) for r in rows if any(mentions(str(v), words) for v in r[2:])]
        self.db.executemany("DELETE FROM actions WHERE inbound_id = ? AND idx = ?", gone)
        return len(gone)

    @asynccontextmanager
    async def atomically(self) -> AsyncIterator[None]:
        db = self.db
        if db.in_transaction:
            raise RuntimeError("an action's transaction cannot nest in another")
        db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")
