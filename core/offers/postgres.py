"""PostgreSQL OfferStore, on the Store's pool."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from psycopg_pool import AsyncConnectionPool

from core.codec import inbound_from_json
from core.events import Inbound
from core.ids import ConversationKey, InboundId, PersonId
from core.memory.forgetting import mentions
from core.offers.model import Offer, OfferKind, OfferState

_COLUMNS = ("person_id, fingerprint, kind, what, due_at, timed, conversation, source, "
            "schedule_id, state, created_at, offered_at, action")


def _at(value: object) -> datetime:
    assert isinstance(value, datetime)
    return value.astimezone(UTC)


def _offer(row: Sequence[object]) -> Offer:
    (person, fp, kind, what, due, timed, conv, source, sid, state, created, offered,
     action) = row
    return Offer(PersonId(str(person)), str(fp), OfferKind(str(kind)), str(what), _at(due),
                 bool(timed), ConversationKey.parse(str(conv)), InboundId(str(source)),
                 str(sid), OfferState(str(state)), _at(created),
                 _at(offered) if offered is not None else None, str(action))


class PostgresOfferStore:
    def __init__(self, pool: AsyncConnectionPool) -> None:
        self._pool = pool

    async def _one(self, sql: str, args: Sequence[object]) -> tuple[object, ...] | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, args)
            row = await cur.fetchone()
        return tuple(row) if row is not None else None

    async def _run(self, sql: str, args: Sequence[object]) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(sql, args)
            return int(cur.rowcount)

    async def source(self, inbound_id: InboundId) -> Inbound | None:
        row = await self._one("SELECT payload FROM inbox WHERE id = %s", (inbound_id,))
        return inbound_from_json(str(row[0])) if row else None

    async def add(self, offer: Offer) -> bool:
        return await self._run(
            f"INSERT INTO offers ({_COLUMNS}) VALUES "
            "(%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s) ON CONFLICT DO NOTHING",
            (offer.person_id, offer.fingerprint, offer.kind.value, offer.what, offer.when,
             offer.timed, str(offer.conversation), offer.source, offer.schedule_id,
             offer.state.value, offer.created_at, offer.offered_at, offer.action)) == 1

    async def known(self, person_id: PersonId, fingerprint: str) -> bool:
        return await self._one("SELECT 1 FROM offers WHERE person_id = %s AND "
                               "fingerprint = %s", (person_id, fingerprint)) is not None

    async def by_schedule(self, schedule_id: str) -> Offer | None:
        row = await self._one(f"SELECT {_COLUMNS} FROM offers WHERE schedule_id = %s",
                              (schedule_id,))
        return _offer(row) if row else None

    async def reschedule(self, offer: Offer, schedule_id: str) -> None:
        await self._run("UPDATE offers SET schedule_id = %s WHERE person_id = %s AND "
                        "fingerprint = %s", (schedule_id, offer.person_id, offer.fingerprint))

    async def settle(self, offer: Offer, state: OfferState, kind: OfferKind, at: datetime,
                     action: str) -> None:
        await self._run(
            "UPDATE offers SET state = %s, kind = %s, offered_at = %s, action = %s "
            "WHERE person_id = %s AND fingerprint = %s AND state = 'waiting'",
            (state.value, kind.value, at if state is OfferState.OFFERED else None, action,
             offer.person_id, offer.fingerprint))

    async def declined(self, person_id: PersonId, kind: OfferKind) -> int:
        row = await self._one(
            "SELECT count(*) FROM offers o JOIN actions a ON a.inbound_id = o.action "
            "AND a.idx = 0 WHERE o.person_id = %s AND o.kind = %s AND o.state = 'offered' "
            "AND a.state = 'declined'", (person_id, kind.value))
        return int(str(row[0])) if row else 0

    async def offered_between(self, person_id: PersonId, start: datetime, end: datetime) -> int:
        row = await self._one(
            "SELECT count(*) FROM offers WHERE person_id = %s AND state = 'offered' "
            "AND offered_at >= %s AND offered_at < %s", (person_id, start, end))
        return int(str(row[0])) if row else 0

    async def delete_person(self, person_id: PersonId) -> int:
        return await self._run("DELETE FROM offers WHERE person_id = %s", (person_id,))

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT fingerprint, what FROM offers WHERE person_id = %s", (person_id,))
            rows = await cur.fetchall()
            gone = [str(fp) for fp, what in rows
                    if mentions(str(what), words) or mentions(str(fp), words)]
            for fp in gone:
                await conn.execute("DELETE FROM offers WHERE person_id = %s AND "
                                   "fingerprint = %s", (person_id, fp))
        return len(gone)
