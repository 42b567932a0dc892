"""PostgreSQL store of the calendar links (see :mod:`core.calendar.links`).

A DELETE or UPDATE only marks the old row version dead, so after ``unlink`` (the sealed
password) and after ``consume`` (the inbox row that held the password) the touched tables
are VACUUMed at once, as /forget does (:mod:`core.db.vacuum`): the old versions
leave the table, though the freed space is reused rather than zeroed, and WAL and base
backups keep their copies until they age out. The sealed password does not open without
the key, which is not in the database.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from psycopg_pool import AsyncConnectionPool

from core.calendar.links import Asking, Link
from core.calendar.links_store import scrubbed
from core.db.vacuum import vacuum
from core.ids import ConversationKey, InboundId, PersonId


def _when(value: Any) -> datetime:
    assert isinstance(value, datetime)
    return value


async def _vacuum(pool: AsyncConnectionPool, table: str) -> None:
    """VACUUM one of our own tables, outside any transaction (see core.db.vacuum)."""
    async with pool.connection() as conn:
        await vacuum(conn, [table])


def asking_row(person_id: PersonId, row: Sequence[Any] | None) -> Asking | None:
    """An asking from its columns (conversation, url, username, asked_at; all None, as a
    LEFT JOIN gives them, or no row: there is none)."""
    if row is None or row[0] is None:
        return None
    return Asking(person_id, ConversationKey.parse(str(row[0])),  # as stored
                  str(row[1]), str(row[2]), _when(row[3]))


class PostgresCalendarLinks:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def ask(self, asking: Asking) -> None:
        async with self._pool.connection() as conn:
            await conn.execute(
                "INSERT INTO calendar_asking (person_id, conversation, url, username, asked_at) "
                "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE SET "
                "conversation = excluded.conversation, url = excluded.url, "
                "username = excluded.username, asked_at = excluded.asked_at",
                (asking.person_id, str(asking.conversation), asking.url, asking.username,
                 asking.asked_at))

    async def asking(self, person_id: PersonId) -> Asking | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT conversation, url, username, asked_at FROM calendar_asking "
                "WHERE person_id = %s",
                (person_id,))
            row = await cur.fetchone()
        return asking_row(person_id, row)

    async def consume(self, person_id: PersonId, inbound_id: InboundId, link: Link | None) -> None:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM calendar_asking WHERE person_id = %s", (person_id,))
            if link is not None:
                await conn.execute(
                    "INSERT INTO calendar_links (person_id, url, username, sealed, linked_at) "
                    "VALUES (%s, %s, %s, %s, %s) ON CONFLICT (person_id) DO UPDATE SET "
                    "url = excluded.url, username = excluded.username, "
                    "sealed = excluded.sealed, linked_at = excluded.linked_at",
                    (link.person_id, link.url, link.username, link.sealed, link.linked_at))
            cur = await conn.execute("SELECT payload FROM inbox WHERE id = %s FOR UPDATE",
                                     (inbound_id,))
            row = await cur.fetchone()
            if row is not None:
                await conn.execute("UPDATE inbox SET payload = %s WHERE id = %s",
                                   (scrubbed(str(row[0])), inbound_id))
        await _vacuum(self._pool, "inbox")

    async def link(self, person_id: PersonId) -> Link | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT url, username, sealed, linked_at FROM calendar_links "
                "WHERE person_id = %s", (person_id,))
            row = await cur.fetchone()
        if row is None:
            return None
        return Link(person_id, str(row[0]), str(row[1]), bytes(row[2]), _when(row[3]))

    async def unlink(self, person_id: PersonId) -> bool:
        async with self._pool.connection() as conn, conn.transaction():
            await conn.execute("DELETE FROM calendar_asking WHERE person_id = %s", (person_id,))
            cur = await conn.execute("DELETE FROM calendar_links WHERE person_id = %s",
                                     (person_id,))
            gone = bool(cur.rowcount)
        await _vacuum(self._pool, "calendar_links")
        return gone
