"""A finished turn and its message's status on PostgreSQL (the TurnCommit role of
``core.inbox.store``).

``finish_turn`` writes the conversation's row, its turns and the inbox status in one
statement (one round trip, atomic without a transaction block). Among replicas it is
fenced: it writes only while this replica's lease still names it as the conversation's
holder (its ``fence`` argument, the lease token), checked and locked in the same
statement. It writes the tables of two features and reads the leases', so it lives with
the Store, the one place that knows them all.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from core.codec import quoted_to_json
from core.conversations.model import TurnRecord
from core.coordination import LeaseLost
from core.db.pool import OnPool
from core.history import reply_origin, trace_to_json, user_origin
from core.inbox.model import InboxStatus


class PostgresTurnCommit(OnPool):
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
