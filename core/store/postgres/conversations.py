"""Conversations and their turns on PostgreSQL (the ConversationStore role).

``finish_turn`` writes the turns and the inbox status in one statement (one round trip,
atomic without a transaction block). Among replicas it is fenced: it writes only while
this replica's lease still names it as the conversation's holder (its ``fence`` argument,
the lease token), checked and locked in the same statement.
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
from core.store.base import ConversationState, InboxStatus, Turn, TurnRecord
from core.store.postgres.inbox import OnPool

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

    async def finish_turn(self, record: TurnRecord, status: InboxStatus, *,
                          fence: int | None) -> None:
        inbound, key = record.inbound, str(record.inbound.conversation)
        now = datetime.now(UTC)
        rows = _turn_rows(record, key, now)
        args: dict[str, object] = {
            "k": key, "now": now, "fence": fence, "id": inbound.id,
            "status": status.value, "reply": record.answer,
            "reply_status": record.answer_status, "answered": now if record.answer else None}
        for i, turn in enumerate(rows):
            args.update({f"r{i}_{name}": turn[name] for name in _ROW_FIELDS})
        async with self._pool.connection() as conn:
            cur = await conn.execute(_finish_sql(fence is not None, len(rows)), args)
            written = await cur.fetchone()
        if fence is not None and (written is None or not written[0]):
            raise LeaseLost(key)  # the fence held nothing: nothing of this turn was written

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


# one statement: the fence (the lease row, locked to the commit: no takeover between), the
# conversation's row, its turns (in order) and the message's status; without the fence's
# row nothing is written
_FENCE = ("fence AS (SELECT 1 FROM turn_leases WHERE conversation = %(k)s "
          "AND owner = %(fence)s FOR SHARE)")
_ROW_FIELDS = ("role", "author", "person", "inbound", "text", "tokens", "at", "command",
               "quoted", "read", "trace", "origin")
_ROW_TYPES = ("text", "text", "text", "text", "text", "int", "timestamptz", "bool", "text",
              "bool", "text", "text")


def _finish_sql(fenced: bool, rows: int) -> str:
    ctes = [_FENCE] if fenced else []
    ctes.append(
        "conv AS (INSERT INTO conversations (key, updated_at) SELECT %(k)s::text, "
        f"%(now)s::timestamptz{' FROM fence' if fenced else ''} ON CONFLICT (key) "
        "DO UPDATE SET updated_at = excluded.updated_at RETURNING epoch)")
    if rows:
        values = ", ".join(
            f"({i}, " + ", ".join(f"%(r{i}_{name})s::{kind}"
                                  for name, kind in zip(_ROW_FIELDS, _ROW_TYPES, strict=True))
            + ")" for i in range(rows))
        ctes.append(
            "added AS (INSERT INTO turns (conversation, epoch, role, author, person_id, "
            "inbound_id, text, tokens, created_at, command, quoted, read_quoted, trace, origin) "
            "SELECT %(k)s::text, conv.epoch, v.role, v.author, v.person, v.inbound, v.text, "
            "v.tokens, v.at, v.command, v.quoted, v.read, v.trace, v.origin "
            f"FROM conv, (VALUES {values}) AS v(n, {', '.join(_ROW_FIELDS)}) ORDER BY v.n)")
    ctes.append(
        "answered AS (UPDATE inbox SET status = %(status)s, reply = %(reply)s, "
        "reply_status = %(reply_status)s, answered_at = %(answered)s::timestamptz "
        "WHERE id = %(id)s AND EXISTS (SELECT 1 FROM conv))")
    return "WITH " + ", ".join(ctes) + " SELECT count(*) FROM conv"


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
