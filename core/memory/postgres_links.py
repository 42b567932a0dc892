"""One person, many identities, on PostgreSQL: link codes, merge, split, and the export.

The rules are :mod:`core.memory.links`'s. Redeeming locks the code's row (``FOR UPDATE``),
so two replicas redeeming one code at once see it used once: the second waits for the
first to commit and then finds ``used_at`` set. A merge or a split is one transaction.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from typing import Any

import psycopg
from psycopg import sql

from core.db.schema import PersonRows
from core.events import ConversationKey
from core.ids import PersonId
from core.memory.links import new_code, refusal
from core.memory.model import Identity, LinkRefusal, LinkResult
from core.memory.postgres_times import as_iso

Conn = psycopg.AsyncConnection[Any]

# the other person's rows follow the merged one; what cannot (a preference both have, a
# learning cursor both hold) stays with the other person and goes with them
_MERGE = (
    "UPDATE identities SET person_id = %(into)s WHERE person_id = %(other)s",
    "INSERT INTO preferences (person_id, key, value, updated_at) "
    "SELECT %(into)s, key, value, updated_at FROM preferences WHERE person_id = %(other)s "
    "ON CONFLICT (person_id, key) DO NOTHING",
    "DELETE FROM preferences WHERE person_id = %(other)s",
    "UPDATE memories SET person_id = %(into)s WHERE person_id = %(other)s",
    "UPDATE turns SET person_id = %(into)s WHERE person_id = %(other)s",
)
_MERGE_REST = (  # after the follow tables' rows moved (deleting the person cascades)
    "UPDATE memory_learning l SET person_id = %(into)s WHERE l.person_id = %(other)s "
    "AND NOT EXISTS (SELECT 1 FROM memory_learning x WHERE x.conversation = l.conversation "
    "AND x.person_id = %(into)s)",
    "DELETE FROM memory_learning WHERE person_id = %(other)s",
    "UPDATE people SET learning = learning AND coalesce("
    "(SELECT o.learning FROM people o WHERE o.id = %(other)s), true) WHERE id = %(into)s",
    "DELETE FROM link_codes WHERE person_id = %(other)s",
    "DELETE FROM memory_forget_pending WHERE person_id = %(other)s",
    "DELETE FROM people WHERE id = %(other)s",
)


def _merge(follow: Sequence[PersonRows]) -> Iterator[sql.SQL | sql.Composed]:
    yield from map(sql.SQL, _MERGE)
    for rows in follow:  # names from the features' schemas, never from input
        yield from map(sql.SQL, rows.merge("%(into)s", "%(other)s"))
    yield from map(sql.SQL, _MERGE_REST)


async def identities(conn: Conn, person_id: PersonId) -> list[Identity]:
    cur = await conn.execute(
        "SELECT channel, platform_id, display_name FROM identities WHERE person_id = %s "
        "ORDER BY channel, platform_id", (person_id,))
    return [Identity(str(r[0]), str(r[1]), str(r[2])) for r in await cur.fetchall()]


async def create_code(conn: Conn, person_id: PersonId, now: datetime, ttl_seconds: int) -> str:
    stamp = now.timestamp()
    await conn.execute("DELETE FROM link_codes WHERE expires_at < %s", (stamp - 86400,))
    for _ in range(10):
        code = new_code()
        cur = await conn.execute(
            "INSERT INTO link_codes (code, person_id, created_at, expires_at) "
            "VALUES (%s, %s, %s, %s) ON CONFLICT (code) DO NOTHING RETURNING code",
            (code, person_id, stamp, stamp + ttl_seconds))
        if await cur.fetchone() is not None:
            return code
    raise RuntimeError("could not allocate a link code")


async def redeem(conn: Conn, code: str, person_id: PersonId, now: datetime,
                 follow: Sequence[PersonRows] = ()) -> LinkResult:
    """Merge ``person_id`` into the code's issuer; the rows of the ``follow`` tables (other
    features' tables with a ``person_id``: reminders, lists) follow the person."""
    code = code.strip().upper()
    async with conn.transaction():
        cur = await conn.execute(
            "SELECT person_id, expires_at, used_at FROM link_codes WHERE code = %s FOR UPDATE",
            (code,))
        row = await cur.fetchone()
        if (refused := refusal(row, person_id, now)) is not None:
            return LinkResult(None, refused)
        issuer = PersonId(str(row[0]))  # type: ignore[index]
        mine = {i.channel for i in await identities(conn, issuer)}
        theirs = await identities(conn, person_id)
        await conn.execute("UPDATE link_codes SET used_at = %s WHERE code = %s",
                           (now.timestamp(), code))
        if mine & {i.channel for i in theirs}:
            return LinkResult(None, LinkRefusal.CONFLICT)  # the code is spent all the same
        for statement in _merge(follow):
            await conn.execute(statement, {"into": issuer, "other": person_id})
    return LinkResult(issuer, None, tuple(theirs))


async def unlink(conn: Conn, person_id: PersonId, channel: str,
                 platform_id: str) -> PersonId | None:
    """Split the identity off into a new person; None when it is the person's only one."""
    new_person = PersonId(uuid.uuid4().hex)
    async with conn.transaction():
        if len(await identities(conn, person_id)) < 2:
            return None
        await conn.execute(
            "INSERT INTO people (id, created_at, learning) "
            "SELECT %s, %s, learning FROM people WHERE id = %s",
            (new_person, datetime.now(UTC).isoformat(), person_id))
        await conn.execute(
            "UPDATE identities SET person_id = %s WHERE person_id = %s AND channel = %s "
            "AND platform_id = %s", (new_person, person_id, channel, platform_id))
        await conn.execute(
            "INSERT INTO preferences (person_id, key, value, updated_at) "
            "SELECT %s, key, value, updated_at FROM preferences WHERE person_id = %s",
            (new_person, person_id))
        await conn.execute(
            "UPDATE memories SET person_id = %s WHERE person_id = %s AND source_channel = %s "
            "AND source_sender = %s", (new_person, person_id, channel, platform_id))
        cur = await conn.execute(
            "SELECT DISTINCT conversation FROM turns WHERE person_id = %s", (person_id,))
        moved = [str(c) for (c,) in await cur.fetchall()
                 if ConversationKey.parse(str(c)).channel == channel]
        if moved:
            await conn.execute(
                "UPDATE turns SET person_id = %s WHERE person_id = %s AND conversation = ANY(%s)",
                (new_person, person_id, moved))
    return new_person


async def export(conn: Conn, person_id: PersonId) -> dict[str, Any]:
    """Everything stored about the person — and nothing about anyone else."""
    cur = await conn.execute(
        "SELECT key, value, updated_at FROM preferences WHERE person_id = %s ORDER BY key",
        (person_id,))
    prefs = await cur.fetchall()
    cur = await conn.execute("SELECT learning FROM people WHERE id = %s", (person_id,))
    learning = await cur.fetchone()
    cur = await conn.execute(
        "SELECT id, text, kind, pref_key, scope, confidence, source_inbound, source_channel, "
        "source_at, expires_at, superseded_by, created_at, updated_at FROM memories "
        "WHERE person_id = %s ORDER BY n", (person_id,))
    memories = await cur.fetchall()
    cur = await conn.execute(
        "SELECT conversation, text, created_at FROM turns WHERE person_id = %s "
        "AND role = 'user' ORDER BY seq", (person_id,))
    turns = await cur.fetchall()
    return {
        "format": "kith-export/1",
        "person_id": person_id,
        "identities": [
            {"channel": i.channel, "platform_id": i.platform_id, "display_name": i.display_name}
            for i in await identities(conn, person_id)
        ],
        "learning": bool(learning[0]) if learning else True,
        "preferences": [{"key": k, "value": v, "updated_at": as_iso(u)} for k, v, u in prefs],
        "memories": [_memory_json(r) for r in memories],
        "messages": [{"conversation": c, "text": t, "at": as_iso(a)} for c, t, a in turns],
    }


def _memory_json(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "id": r[0], "text": r[1], "kind": r[2], "pref_key": r[3], "scope": r[4],
        "confidence": r[5],
        "source": {"message": r[6], "channel": r[7], "at": as_iso(r[8])},
        "expires_at": as_iso(r[9]), "superseded_by": r[10], "created_at": as_iso(r[11]),
        "updated_at": as_iso(r[12]),
    }
