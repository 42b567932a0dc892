"""Conversations and their turns on PostgreSQL (the ConversationStore role), on the store's
connection pool. A finished turn is written with its message's status by the Store's commit
(``core.store.postgres.commit``)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from core.codec import quoted_from_json
from core.conversations.model import ConversationState, Turn
from core.db.pool import OnPool
from core.db.vacuum import vacuum
from core.events import ConversationKey
from core.history import trace_from_json
from core.ids import InboundId
from core.provenance import Origin

_EPOCH = "coalesce((SELECT epoch FROM conversations WHERE key = %(k)s), 0)"
FORGET_TABLES = ("turns", "inbox", "conversations")


class PostgresConversations(OnPool):
    async def conversation(self, key: ConversationKey) -> ConversationState:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT epoch, summary, summary_upto, summary_origin FROM conversations "
                "WHERE key = %s", (str(key),))
            row = await cur.fetchone()
        return ConversationState(int(row[0]), str(row[1]), int(row[2]), Origin(row[3])) \
            if row else ConversationState()

    async def turn_count(self, key: ConversationKey) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                f"SELECT count(*) FROM turns WHERE conversation = %(k)s AND NOT command "
                f"AND epoch = {_EPOCH}", {"k": str(key)})
            row = await cur.fetchone()
        return int(row[0]) if row else 0

    async def history(self, key: ConversationKey, after_seq: int, limit: int) -> list[Turn]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT seq, role, author, text, tokens, created_at, quoted, read_quoted, "
                "person_id, trace, origin FROM turns "
                f"WHERE conversation = %(k)s AND NOT command AND epoch = {_EPOCH} "
                "AND seq > %(after)s ORDER BY seq DESC LIMIT %(n)s",
                {"k": str(key), "after": after_seq, "n": limit})
            rows = await cur.fetchall()
        return [_turn(row) for row in reversed(rows)]

    async def recent(self, key: ConversationKey,
                     limit: int) -> tuple[ConversationState, list[Turn]]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_RECENT, {"k": str(key), "n": limit})
            rows = await cur.fetchall()
        first = rows[0] if rows else None
        state = ConversationState(int(first[0]), str(first[1]), int(first[2]), Origin(first[3])) \
            if first is not None and first[0] is not None else ConversationState()
        return state, [_turn(r[4:]) for r in reversed(rows) if r[4] is not None]

    async def transcript(self, key: ConversationKey, limit: int) -> list[Turn]:
        """The newest ``limit`` turns of the current epoch as the person saw them, commands
        and their answers included (for showing, never for a prompt)."""
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT seq, role, author, text, tokens, created_at, command, inbound_id, origin "
                f"FROM turns WHERE conversation = %(k)s AND epoch = {_EPOCH} "
                "ORDER BY seq DESC LIMIT %(n)s", {"k": str(key), "n": limit})
            rows = await cur.fetchall()
        return [Turn(r[0], r[1], r[2], r[3], r[4], r[5], r[6], InboundId(r[7] or ""),
                     origin=Origin(r[8]))
                for r in reversed(rows)]

    async def set_summary(
        self, key: ConversationKey, epoch: int, summary: str, upto_seq: int, origin: Origin,
    ) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "UPDATE conversations SET summary = %s, summary_upto = %s, summary_origin = %s "
                "WHERE key = %s AND epoch = %s AND summary_upto < %s",
                (summary, upto_seq, origin.value, str(key), epoch, upto_seq))

    async def reset(self, key: ConversationKey) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO conversations (key, epoch, updated_at) VALUES (%s, 1, now()) "
                "ON CONFLICT (key) DO UPDATE SET epoch = conversations.epoch + 1, "
                "summary = '', summary_upto = 0, summary_origin = 'kith'", (str(key),))

    async def forget(self, key: ConversationKey) -> int:
        """Delete the conversation's turns (and its finished inbox rows), then VACUUM those
        tables so the deleted rows and their index entries are gone from the live files."""
        k = str(key)
        async with self._pool.connection() as conn:
            async with conn.transaction():
                cur = await conn.execute(
                    "DELETE FROM turns WHERE conversation = %s AND NOT command", (k,))
                deleted = cur.rowcount
                await conn.execute("DELETE FROM turns WHERE conversation = %s", (k,))
                await conn.execute(
                    "DELETE FROM inbox WHERE conversation = %s AND status NOT IN "
                    "('pending', 'answered', 'held')", (k,))
                await conn.execute(
                    "UPDATE conversations SET summary = '', summary_upto = 0, "
                    "summary_origin = 'kith' WHERE key = %s", (k,))
            await vacuum(conn, FORGET_TABLES)
        return deleted


_TURN = ("seq, role, author, text, tokens, created_at, quoted, read_quoted, person_id, trace, "
         "origin")
# the conversation's state (none yet: a row of NULLs) and its newest turns after its summary
_RECENT = (
    "SELECT c.epoch, c.summary, c.summary_upto, c.summary_origin, "
    + ", ".join(f"t.{name}" for name in _TURN.split(", ")) + " FROM (SELECT 1) AS one "
    "LEFT JOIN conversations c ON c.key = %(k)s "
    f"LEFT JOIN LATERAL (SELECT {_TURN} FROM turns WHERE conversation = %(k)s AND NOT command "
    "AND epoch = coalesce(c.epoch, 0) AND seq > coalesce(c.summary_upto, 0) "
    "ORDER BY seq DESC LIMIT %(n)s) t ON true ORDER BY t.seq DESC")


def _turn(row: Sequence[Any]) -> Turn:
    seq, role, author, text, tokens, created, quoted, read, person, trace, origin = row
    return Turn(seq, role, author, text, tokens, created, quoted=quoted_from_json(quoted),
                read_quoted=read, person_id=person, trace=trace_from_json(trace),
                origin=Origin(origin))
