"""The calendar links' SQLite store (see :mod:`core.calendar.links`; tables in
:mod:`core.calendar.schema`, the PostgreSQL store in :mod:`core.calendar.links_postgres`)."""

from __future__ import annotations

import dataclasses
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

from core.calendar.links import SCRUBBED, Asking, Link
from core.codec import inbound_from_json, inbound_to_json
from core.ids import ConversationKey, InboundId, PersonId


def scrubbed(payload: str) -> str:
    """An inbox payload with the message's own text replaced (pure)."""
    return inbound_to_json(dataclasses.replace(inbound_from_json(payload), text=SCRUBBED))


def _at(value: object) -> datetime:
    return datetime.fromtimestamp(float(str(value)), UTC)


class SQLiteCalendarLinks:
    def __init__(self, db: Callable[[], sqlite3.Connection]) -> None:
        self._db = db

    async def ask(self, asking: Asking) -> None:
        self._db().execute(
            "INSERT OR REPLACE INTO calendar_asking "
            "(person_id, conversation, url, username, asked_at) VALUES (?, ?, ?, ?, ?)",
            (asking.person_id, str(asking.conversation), asking.url, asking.username,
             asking.asked_at.timestamp()))

    async def asking(self, person_id: PersonId) -> Asking | None:
        row = self._db().execute(
            "SELECT conversation, url, username, asked_at FROM calendar_asking "
            "WHERE person_id = ?", (person_id,)).fetchone()
        if row is None:
            return None
        return Asking(person_id, ConversationKey.parse(str(row[0])),  # as stored
                      str(row[1]), str(row[2]), _at(row[3]))

    async def consume(self, person_id: PersonId, inbound_id: InboundId, link: Link | None) -> None:
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM calendar_asking WHERE person_id = ?", (person_id,))
            if link is not None:
                db.execute(
                    "INSERT OR REPLACE INTO calendar_links "
                    "(person_id, url, username, sealed, linked_at) VALUES (?, ?, ?, ?, ?)",
                    (link.person_id, link.url, link.username, link.sealed,
                     link.linked_at.timestamp()))
            row = db.execute("SELECT payload FROM inbox WHERE id = ?", (inbound_id,)).fetchone()
            if row is not None:
                db.execute("UPDATE inbox SET payload = ? WHERE id = ?",
                           (scrubbed(str(row[0])), inbound_id))
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # the old text leaves the WAL too

    async def link(self, person_id: PersonId) -> Link | None:
        row = self._db().execute(
            "SELECT url, username, sealed, linked_at FROM calendar_links WHERE person_id = ?",
            (person_id,)).fetchone()
        if row is None:
            return None
        return Link(person_id, str(row[0]), str(row[1]), bytes(row[2]), _at(row[3]))

    async def unlink(self, person_id: PersonId) -> bool:
        db = self._db()
        with db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("DELETE FROM calendar_asking WHERE person_id = ?", (person_id,))
            gone = db.execute("DELETE FROM calendar_links WHERE person_id = ?",
                              (person_id,)).rowcount
        # secure_delete (on for the store's connection) zeroed the freed cells; the WAL's
        # copies of the old pages go with the checkpoint
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return bool(gone)
