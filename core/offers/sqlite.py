"""SQLite OfferStore, on the Store's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from core.codec import inbound_from_json
from core.events import Inbound
from core.ids import ConversationKey, InboundId, PersonId
from core.memory.forgetting import mentions
from core.offers.model import Offer, OfferKind, OfferState

_COLUMNS = ("person_id, fingerprint, kind, what, due_at, timed, conversation, source, "
            "schedule_id, state, created_at, offered_at, action")


def _at(value: object) -> datetime:
    return datetime.fromtimestamp(float(str(value)), UTC)


def _offer(row: Sequence[object]) -> Offer:
    (person, fp, kind, what, due, timed, conv, source, sid, state, created, offered,
     action) = row
    return Offer(PersonId(str(person)), str(fp), OfferKind(str(kind)), str(what), _at(due),
                 bool(timed), ConversationKey.parse(str(conv)), InboundId(str(source)),
                 str(sid), OfferState(str(state)), _at(created),
                 _at(offered) if offered is not None else None, str(action))


class SQLiteOfferStore:
    def __init__(self, db: Callable[[], sqlite3.Connection]) -> None:
        self._db = db

    @property
    def db(self) -> sqlite3.Connection:
        return self._db()

    async def source(self, inbound_id: InboundId) -> Inbound | None:
        row = self.db.execute("SELECT payload FROM inbox WHERE id = ?",
                              (inbound_id,)).fetchone()
        return inbound_from_json(str(row[0])) if row else None

    async def add(self, offer: Offer) -> bool:
        cur = self.db.execute(
            f"INSERT OR IGNORE INTO offers ({_COLUMNS}) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (offer.person_id, offer.fingerprint, offer.kind.value, offer.what,
             offer.when.timestamp(), int(offer.timed), str(offer.conversation), offer.source,
             offer.schedule_id, offer.state.value, offer.created_at.timestamp(),
             offer.offered_at.timestamp() if offer.offered_at else None, offer.action))
        return cur.rowcount == 1

    async def known(self, person_id: PersonId, fingerprint: str) -> bool:
        return self.db.execute("SELECT 1 FROM offers WHERE person_id = ? AND fingerprint = ?",
                               (person_id, fingerprint)).fetchone() is not None

    async def by_schedule(self, schedule_id: str) -> Offer | None:
        row = self.db.execute(f"SELECT {_COLUMNS} FROM offers WHERE schedule_id = ?",
                              (schedule_id,)).fetchone()
        return _offer(row) if row else None

    async def reschedule(self, offer: Offer, schedule_id: str) -> None:
        self.db.execute("UPDATE offers SET schedule_id = ? WHERE person_id = ? AND "
                        "fingerprint = ?", (schedule_id, offer.person_id, offer.fingerprint))

    async def settle(self, offer: Offer, state: OfferState, kind: OfferKind, at: datetime,
                     action: str) -> None:
        self.db.execute(
            "UPDATE offers SET state = ?, kind = ?, offered_at = ?, action = ? "
            "WHERE person_id = ? AND fingerprint = ? AND state = 'waiting'",
            (state.value, kind.value, at.timestamp() if state is OfferState.OFFERED else None,
             action, offer.person_id, offer.fingerprint))

    async def declined(self, person_id: PersonId, kind: OfferKind) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM offers o JOIN actions a ON a.inbound_id = o.action "
            "AND a.idx = 0 WHERE o.person_id = ? AND o.kind = ? AND o.state = 'offered' "
            "AND a.state = 'declined'", (person_id, kind.value)).fetchone()
        return int(row[0])

    async def offered_between(self, person_id: PersonId, start: datetime, end: datetime) -> int:
        row = self.db.execute(
            "SELECT count(*) FROM offers WHERE person_id = ? AND state = 'offered' "
            "AND offered_at >= ? AND offered_at < ?",
            (person_id, start.timestamp(), end.timestamp())).fetchone()
        return int(row[0])

    async def delete_person(self, person_id: PersonId) -> int:
        return self.db.execute("DELETE FROM offers WHERE person_id = ?",
                               (person_id,)).rowcount

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        rows = self.db.execute("SELECT fingerprint, what FROM offers WHERE person_id = ?",
                               (person_id,)).fetchall()
        gone = [str(fp) for fp, what in rows if mentions(what, words) or mentions(fp, words)]
        for fp in gone:
            self.db.execute("DELETE FROM offers WHERE person_id = ? AND fingerprint = ?",
                            (person_id, fp))
        return len(gone)
