"""Deleting and correcting memories on PostgreSQL, each in one transaction.

Deletion is real in the sense every reader sees at once: the rows go (``memories`` with the
``tsv`` its GIN entries point at; ``memory_vectors`` by cascade; the source turns and
finished inbox rows; the command exchanges that may retell them), so no query on any
replica finds them after the commit.

What VACUUM does and does not erase: a deleted (or updated) row stays in its heap page,
and its GIN and btree entries stay in the index pages, as dead bytes no query can reach,
until VACUUM removes the dead row versions and their index entries. So the store runs
``VACUUM`` on the touched tables (:data:`DELETE_TABLES`) right after the delete commits,
as ``forget`` does (:mod:`core.db.vacuum`). VACUUM cannot remove rows an older
snapshot may still see (a long transaction elsewhere: autovacuum gets them later), and
the space it frees is reused, not zeroed, so old bytes may sit in the data files until
overwritten; ``VACUUM FULL memories`` (or ``pg_repack``) rewrites a table and its indexes
into new files. The WAL keeps the deleted text until its segments are recycled, and so do
WAL archives, base backups and streaming replicas until they roll over: an operator who
promises erasure sets their retention.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import psycopg

from core.ids import PersonId
from core.memory import postgres_fulltext as fulltext

Conn = psycopg.AsyncConnection[Any]
_OPEN = "('pending', 'answered', 'held')"
# what a deletion or an edit leaves dead rows in (conversations: the dropped summary)
DELETE_TABLES = ("memories", "memory_vectors", "turns", "inbox", "conversations")


async def with_history(conn: Conn, person_id: PersonId, ids: Sequence[str]) -> list[str]:
    """``ids`` that are the person's, and every memory they replaced, transitively."""
    cur = await conn.execute(
        "WITH RECURSIVE doomed(id) AS ("
        " SELECT id FROM memories WHERE person_id = %(p)s AND id = ANY(%(ids)s)"
        " UNION SELECT m.id FROM memories m JOIN doomed d ON m.superseded_by = d.id"
        " WHERE m.person_id = %(p)s) SELECT id FROM doomed",
        {"p": person_id, "ids": list(ids)},
    )
    return [str(r[0]) for r in await cur.fetchall()]


async def purge(conn: Conn, ids: Sequence[str]) -> None:
    """Delete memories ``ids`` and the messages they were learned from."""
    if not ids:
        return
    cur = await conn.execute(
        "DELETE FROM memories WHERE id = ANY(%s) RETURNING source_inbound", (list(ids),))
    sources = sorted({str(r[0]) for r in await cur.fetchall()})
    await conn.execute(
        "UPDATE memories SET superseded_by = NULL WHERE superseded_by = ANY(%s)", (list(ids),))
    if not sources:
        return
    # the rolling summary may retell the forgotten turn: drop it, it is rebuilt
    await conn.execute(
        "UPDATE conversations SET summary = '', summary_upto = 0 WHERE key IN "
        "(SELECT conversation FROM turns WHERE inbound_id = ANY(%s))", (sources,))
    await conn.execute("DELETE FROM turns WHERE inbound_id = ANY(%s)", (sources,))
    await conn.execute(
        "DELETE FROM inbox WHERE id = ANY(%s) AND status <> 'pending'", (sources,))


async def drop_command_turns(conn: Conn, person_id: PersonId) -> None:
    """Commands' exchanges (a /memory listing, an /export) may retell what was forgotten:
    their turns go, and so do their finished inbox rows. A command still being answered
    (this /forget itself) keeps its row."""
    mine = "(SELECT inbound_id FROM turns WHERE person_id = %(p)s AND command)"
    await conn.execute(
        f"DELETE FROM inbox WHERE id IN {mine} AND status NOT IN {_OPEN}", {"p": person_id})
    await conn.execute(
        f"DELETE FROM turns WHERE command AND inbound_id IN {mine}", {"p": person_id})


async def update(
    conn: Conn, person_id: PersonId, memory_id: str, now: datetime, *, text: str | None,
    scope: str | None,
) -> bool:
    """Set the text and/or scope of the person's active memory; False when there is none.
    New words replace the old in ``tsv`` and the stale vector goes."""
    cur = await conn.execute(
        "SELECT n, text FROM memories WHERE id = %s AND person_id = %s "
        "AND superseded_by IS NULL FOR UPDATE", (memory_id, person_id))
    row = await cur.fetchone()
    if row is None:
        return False
    n, old = int(row[0]), str(row[1])
    if text is not None and text != old:
        words, count = fulltext.document(text)
        await conn.execute(
            f"UPDATE memories SET text = %s, tsv = to_tsvector('{fulltext.CONFIG}', %s), "
            "words = %s, updated_at = %s WHERE n = %s", (text, words, count, now, n))
        await conn.execute("DELETE FROM memory_vectors WHERE n = %s", (n,))
        await drop_command_turns(conn, person_id)  # a /memory listing may retell the old words
    if scope is not None:
        await conn.execute(
            "UPDATE memories SET scope = %s, updated_at = %s WHERE n = %s", (scope, now, n))
    return True


async def source_texts(conn: Conn, inbound_ids: Sequence[str]) -> dict[str, str]:
    """What the person wrote in each source message that is still kept, by message id."""
    ids = list(dict.fromkeys(inbound_ids))
    if not ids:
        return {}
    cur = await conn.execute(
        "SELECT inbound_id, text FROM turns WHERE role = 'user' AND inbound_id = ANY(%s)",
        (ids,))
    return {str(r[0]): str(r[1]) for r in await cur.fetchall()}


async def drop_person_turns(conn: Conn, person_id: PersonId) -> None:
    """Every message the person sent and every reply to one, wherever they spoke; the
    whole of each conversation nobody else spoke in; the inbox rows of those unless still
    being answered; the summaries of every conversation touched (as SQLite's)."""
    p = {"p": person_id}
    cur = await conn.execute(
        "SELECT DISTINCT conversation FROM turns WHERE person_id = %(p)s", p)
    convs = [str(r[0]) for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT DISTINCT conversation FROM turns WHERE conversation = ANY(%(c)s) "
        "AND person_id IS NOT NULL AND person_id <> %(p)s", {**p, "c": convs})
    shared = {str(r[0]) for r in await cur.fetchall()}
    alone = [c for c in convs if c not in shared]
    mine = "(SELECT inbound_id FROM turns WHERE person_id = %(p)s AND inbound_id IS NOT NULL)"
    await conn.execute(f"DELETE FROM inbox WHERE id IN {mine} AND status NOT IN {_OPEN}", p)
    await conn.execute(f"DELETE FROM turns WHERE inbound_id IN {mine}", p)
    await conn.execute("DELETE FROM turns WHERE person_id = %(p)s", p)
    await conn.execute(
        f"DELETE FROM inbox WHERE conversation = ANY(%(c)s) AND status NOT IN {_OPEN}",
        {"c": alone})
    await conn.execute("DELETE FROM turns WHERE conversation = ANY(%(c)s)", {"c": alone})
    await conn.execute(
        "UPDATE conversations SET summary = '', summary_upto = 0 WHERE key = ANY(%(c)s)",
        {"c": convs})


async def memories_with(conn: Conn, person_id: PersonId, words: str) -> list[str]:
    """The person's memories (replaced ones too) whose text holds ``words``."""
    cur = await conn.execute(
        "SELECT id FROM memories WHERE person_id = %s AND strpos(lower(text), lower(%s)) > 0",
        (person_id, words))
    return [str(r[0]) for r in await cur.fetchall()]


async def drop_turns_with(conn: Conn, person_id: PersonId, words: str) -> None:
    """As SQLite's: the person's messages holding ``words`` with their replies, Kith's
    replies retelling them, finished inbox rows holding them (never another person's
    message; a retelling reply is blanked), and the summaries touched or retelling them."""
    cur = await conn.execute(
        "SELECT DISTINCT conversation FROM turns WHERE person_id = %s", (person_id,))
    q = {"p": person_id, "w": words, "c": [str(r[0]) for r in await cur.fetchall()]}
    has = "strpos(lower({}), lower(%(w)s)) > 0"
    cur = await conn.execute(
        f"SELECT DISTINCT inbound_id FROM turns WHERE person_id = %(p)s AND inbound_id IS "
        f"NOT NULL AND ({has.format('text')} OR {has.format('quoted')})", q)
    q["s"] = [str(r[0]) for r in await cur.fetchall()]
    cur = await conn.execute(
        "SELECT DISTINCT inbound_id FROM turns WHERE conversation = ANY(%(c)s) AND person_id "
        "IS NOT NULL AND person_id <> %(p)s AND inbound_id IS NOT NULL", q)
    q["o"] = [str(r[0]) for r in await cur.fetchall()]
    retold = f"(role = 'assistant' AND ({has.format('text')} OR {has.format('trace')}))"
    await conn.execute(
        "UPDATE conversations SET summary = '', summary_upto = 0 WHERE key = ANY(%(c)s) AND "
        "(key IN (SELECT conversation FROM turns WHERE inbound_id = ANY(%(s)s) OR "
        f"{retold}) OR {has.format('summary')})", q)
    await conn.execute(f"DELETE FROM turns WHERE conversation = ANY(%(c)s) AND {retold}", q)
    await conn.execute("DELETE FROM turns WHERE inbound_id = ANY(%(s)s)", q)
    await conn.execute(
        f"DELETE FROM inbox WHERE status NOT IN {_OPEN} AND (id = ANY(%(s)s) OR "
        f"(conversation = ANY(%(c)s) AND NOT id = ANY(%(o)s) AND {has.format('payload')}))", q)
    await conn.execute(
        f"UPDATE inbox SET reply = '' WHERE status NOT IN {_OPEN} AND conversation = "
        f"ANY(%(c)s) AND {has.format('reply')}", q)
