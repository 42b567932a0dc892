"""Conversations and their turns on PostgreSQL (the ConversationStore role).

``finish_turn`` writes the turns and the inbox status in one transaction, sent as one
pipeline (one round trip to the server, not one per statement). Among replicas it is
fenced: it commits only while this replica's lease still names it as the conversation's
holder (its ``fence`` argument, the lease token), a second round trip.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from core.codec import quoted_from_json, quoted_to_json
from core.coordination import LeaseLost
from core.db.vacuum import vacuum
from core.events import ConversationKey
from core.history import reply_origin, trace_from_json, trace_to_json, user_origin
from core.ids import InboundId
from core.provenance import Origin
from core.store.base import ConversationState, Turn, TurnRecord
from core.store.postgres.inbox import OnPool

_EPOCH = "coalesce((SELECT epoch FROM conversations WHERE key = %(k)s), 0)"
_INSERT_TURN = (
    "INSERT INTO turns (conversation, epoch, role, author, person_id, inbound_id, text, "
    "tokens, created_at, command, quoted, read_quoted, trace, origin) "
    "VALUES (%(k)s, (SELECT epoch FROM conversations WHERE key = %(k)s), %(role)s, "
    "%(author)s, %(person)s, %(inbound)s, %(text)s, %(tokens)s, %(at)s, %(command)s, "
    "%(quoted)s, %(read)s, %(trace)s, %(origin)s)"
)
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
        return [Turn(seq, role, author, text, tokens, created, quoted=quoted_from_json(quoted),
                     read_quoted=read, person_id=person, trace=trace_from_json(trace),
                     origin=Origin(origin))
                for seq, role, author, text, tokens, created, quoted, read, person, trace, origin
                in reversed(rows)]

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

    async def finish_turn(self, record: TurnRecord, *, fence: int | None) -> None:
        inbound, key = record.inbound, str(record.inbound.conversation)
        now = datetime.now(UTC)
        async with self._pool.connection() as conn, conn.pipeline(), conn.transaction():
            if fence is not None:  # the lease row is locked to the commit: no takeover between
                cur = await conn.execute(_FENCE, (key, fence))
                if await cur.fetchone() is None:
                    raise LeaseLost(key)  # rolls back: nothing of this turn is written
            await conn.execute(
                "INSERT INTO conversations (key, updated_at) VALUES (%s, %s) "
                "ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at", (key, now))
            turns = _turn_rows(record, key, now)
            if turns:
                cur = conn.cursor()
                await cur.executemany(_INSERT_TURN, turns)
            await conn.execute(
                "UPDATE inbox SET status = %s, reply = %s, reply_status = %s, answered_at = %s "
                "WHERE id = %s",
                (record.status.value, record.answer, record.answer_status,
                 now if record.answer else None, inbound.id))

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


_FENCE = "SELECT 1 FROM turn_leases WHERE conversation = %s AND owner = %s FOR SHARE"


def _turn_rows(record: TurnRecord, key: str, now: datetime) -> Sequence[dict[str, object]]:
    inbound = record.inbound
    base = {"k": key, "inbound": inbound.id, "command": record.command,
            "read": bool(inbound.quoted)}
    rows: list[dict[str, object]] = []
    if record.user_text is not None:
        rows.append(base | {"role": "user", "author": inbound.sender.display_name,
                            "person": record.person_id, "text": record.user_text,
                            "tokens": record.user_tokens, "at": inbound.received_at,
                            "quoted": quoted_to_json(inbound.quoted), "trace": "",
                            "origin": user_origin(inbound).value})
    if record.reply_text is not None:
        rows.append(base | {"role": "assistant", "author": "", "person": None,
                            "text": record.reply_text, "tokens": record.reply_tokens,
                            "at": now, "quoted": "", "trace": trace_to_json(record.trace),
                            "origin": reply_origin(inbound, record.trace).value})
    return rows
