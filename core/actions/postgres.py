"""PostgreSQL ActionStore, on the store's connection pool (or on one transaction's
connection: ``PostgresStore.atomically``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from psycopg_pool import AsyncConnectionPool

from core.actions.model import Action, ActionKey, State
from core.ids import ConversationKey, InboundId, PersonId
from core.memory.forgetting import mentions

_COLUMNS = ("inbound_id, idx, person_id, conversation, tool, args, state, summary, reason, "
            "created_at, expires_at, started, result, notice, decided_by")


def _action(row: Sequence[object]) -> Action:
    (inbound, idx, person, conv, tool, args, state, summary, reason, created, expires,
     started, result, notice, by) = row
    assert isinstance(created, datetime) and isinstance(expires, datetime)
    return Action(
        key=ActionKey(InboundId(str(inbound)), int(str(idx))), person_id=PersonId(str(person)),
        conversation=ConversationKey.parse(str(conv)),  # as stored
        tool=str(tool), args=str(args), state=State(str(state)),
        summary=str(summary), reason=str(reason), created_at=created, expires_at=expires,
        started=bool(started), result=str(result), notice=str(notice), decided_by=str(by))


class PostgresActionStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def get(self, key: ActionKey) -> Action | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM actions WHERE inbound_id = %s AND idx = %s",
                (key.inbound_id, key.index))
            row = await cur.fetchone()
        return _action(row) if row else None

    async def record(self, action: Action) -> Action:
        async with self._pool.connection() as conn:
            await conn.execute(
                f"INSERT INTO actions ({_COLUMNS}) VALUES "
                "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) "
                "ON CONFLICT (inbound_id, idx) DO NOTHING",
                (action.key.inbound_id, action.key.index, action.person_id,
                 str(action.conversation), action.tool, action.args, action.state.value,
                 action.summary, action.reason, action.created_at, action.expires_at,
                 action.started, action.result, action.notice, action.decided_by))
        stored = await self.get(action.key)
        assert stored is not None
        return stored

    async def save(self, action: Action, was: State, was_started: bool) -> bool:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE actions SET state = %s, started = %s, result = %s, notice = %s, "
                "decided_by = %s WHERE inbound_id = %s AND idx = %s AND state = %s "
                "AND started = %s",
                (action.state.value, action.started, action.result, action.notice,
                 action.decided_by, action.key.inbound_id, action.key.index, was.value,
                 was_started))
            return cur.rowcount == 1

    async def proposals(self, conversation: ConversationKey, person_id: PersonId) -> list[Action]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM actions WHERE conversation = %s AND person_id = %s "
                "AND state = 'proposed' ORDER BY created_at DESC, inbound_id, idx",
                (str(conversation), person_id))
            rows = await cur.fetchall()
        return [_action(r) for r in rows]

    async def interrupted(self, conversation: ConversationKey, person_id: PersonId) -> list[Action]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM actions WHERE conversation = %s AND person_id = %s "
                "AND state = 'approved' AND decided_by <> '' ORDER BY inbound_id, idx",
                (str(conversation), person_id))
            rows = await cur.fetchall()
        return [_action(r) for r in rows]

    async def made_by(self, inbound_id: InboundId) -> list[Action]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT {_COLUMNS} FROM actions WHERE inbound_id = %s AND state = 'proposed' "
                "ORDER BY idx", (inbound_id,))
            rows = await cur.fetchall()
        return [_action(r) for r in rows]

    async def delete_person(self, person_id: PersonId) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute("DELETE FROM actions WHERE person_id = %s", (person_id,))
            return int(cur.rowcount)

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT inbound_id, idx, args, summary, result, notice FROM actions "
                "WHERE person_id = %s", (person_id,))
            rows = await cur.fetchall()
            gone = [(r[0], r[1]) for r in rows if any(mentions(str(v), words) for v in r[2:])]
            for inbound_id, idx in gone:
                await conn.execute("DELETE FROM actions WHERE inbound_id = %s AND idx = %s",
                                   (inbound_id, idx))
        return len(gone)
