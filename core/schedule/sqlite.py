"""SQLite ScheduleStore, on the Store's connection.

Due schedules are found through a partial index on ``due_at`` (never a table scan) and
claimed in one ``BEGIN IMMEDIATE`` transaction that writes each occurrence's Inbound into
``schedule_fired`` and moves the schedule on (next occurrence, or inactive). A crash before
the commit leaves the schedule due; after it, the occurrence waits in ``schedule_fired``
until the dispatcher has it — its id is fixed, so the inbox dedupes a second submit.
"""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from core.codec import inbound_from_json, inbound_to_json
from core.events import ConversationKey, Inbound
from core.ids import PersonId
from core.memory.forgetting import mentions
from core.schedule.model import (
    Kind,
    NewSchedule,
    Schedule,
    next_after,
    occurrence,
    origin_template,
)

_COLUMNS = "id, person_id, kind, conversation, text, timezone, rule, anchor, due_at, created_at"


def _ts(moment: datetime) -> float:
    return moment.timestamp()


def _at(value: float) -> datetime:
    return datetime.fromtimestamp(value, UTC)


def _schedule(row: Sequence[object]) -> Schedule:
    sid, person, kind, conv, text, tz, rule, anchor, due, created = row
    return Schedule(
        id=str(sid), person_id=PersonId(str(person)), kind=Kind(str(kind)),
        conversation=ConversationKey.parse(str(conv)), text=str(text), timezone=str(tz),
        rule=str(rule) if rule else None, anchor=datetime.fromisoformat(str(anchor)),
        due_at=_at(float(str(due))), created_at=datetime.fromisoformat(str(created)),
    )


class SQLiteScheduleStore:
    def __init__(self, db: Callable[[], sqlite3.Connection]) -> None:
        self._db = db
        self._listeners: list[Callable[[], None]] = []

    @property
    def db(self) -> sqlite3.Connection:
        return self._db()

    def subscribe(self, callback: Callable[[], None]) -> None:
        """``callback`` runs after every change of what is due (the scheduler's wake-up)."""
        self._listeners.append(callback)

    def _changed(self) -> None:
        for callback in self._listeners:
            callback()

    async def add(self, new: NewSchedule, now: datetime) -> Schedule:
        prefix = "b" if new.kind is Kind.BRIEFING else "r"
        origin = origin_template(new.origin)
        while True:  # short ids people can type; a clash (rare) just draws another
            sid = prefix + secrets.token_hex(4)
            cur = self.db.execute(
                "INSERT OR IGNORE INTO schedules (id, person_id, kind, conversation, origin, "
                "text, timezone, rule, anchor, due_at, created_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (sid, new.person_id, new.kind.value, str(origin.conversation),
                 inbound_to_json(origin), new.text, new.timezone, new.rule,
                 new.anchor.isoformat(), _ts(new.due_at), now.isoformat()),
            )
            if cur.rowcount == 1:
                break
        self._changed()
        found = await self.get(sid)
        assert found is not None
        return found

    async def get(self, schedule_id: str) -> Schedule | None:
        row = self.db.execute(
            f"SELECT {_COLUMNS} FROM schedules WHERE id = ? AND active = 1", (schedule_id,)
        ).fetchone()
        return _schedule(row) if row else None

    async def cancel(self, person_id: PersonId, schedule_id: str) -> Schedule | None:
        found = await self.get(schedule_id.strip().lower())
        if found is None or found.person_id != person_id:
            return None
        self.db.execute("DELETE FROM schedules WHERE id = ?", (found.id,))
        self._changed()
        return found

    async def for_person(self, person_id: PersonId, kind: Kind | None = None) -> list[Schedule]:
        query = f"SELECT {_COLUMNS} FROM schedules WHERE person_id = ? AND active = 1"
        args: list[object] = [person_id]
        if kind is not None:
            query += " AND kind = ?"
            args.append(kind.value)
        rows = self.db.execute(query + " ORDER BY due_at", args).fetchall()
        return [_schedule(r) for r in rows]

    async def next_due(self) -> datetime | None:
        row = self.db.execute(
            "SELECT due_at FROM schedules WHERE active = 1 ORDER BY due_at LIMIT 1"
        ).fetchone()
        return _at(row[0]) if row else None

    async def claim_due(self, now: datetime, limit: int) -> list[Inbound]:
        """Claim up to ``limit`` due occurrences atomically; returns their Inbounds."""
        db, fired = self.db, list[Inbound]()
        with db:
            db.execute("BEGIN IMMEDIATE")
            rows = db.execute(
                f"SELECT {_COLUMNS}, origin FROM schedules WHERE active = 1 AND due_at <= ? "
                "ORDER BY due_at LIMIT ?", (_ts(now), limit),
            ).fetchall()
            for row in rows:
                item, origin = _schedule(row[:-1]), inbound_from_json(str(row[-1]))
                inbound = occurrence(origin, item.id, item.kind, item.text, item.due_at,
                                     item.timezone, now)
                db.execute(
                    "INSERT OR IGNORE INTO schedule_fired (inbound_id, schedule_id, payload) "
                    "VALUES (?, ?, ?)", (inbound.id, item.id, inbound_to_json(inbound)),
                )
                following = next_after(item, now)
                if following is None:
                    db.execute("UPDATE schedules SET active = 0 WHERE id = ?", (item.id,))
                else:
                    db.execute("UPDATE schedules SET due_at = ? WHERE id = ?",
                               (_ts(following), item.id))
                fired.append(inbound)
        return fired

    async def unsubmitted(self) -> list[Inbound]:
        rows = self.db.execute(
            "SELECT payload FROM schedule_fired WHERE submitted = 0 ORDER BY rowid"
        ).fetchall()
        return [inbound_from_json(str(r[0])) for r in rows]

    async def mark_submitted(self, inbound_ids: Sequence[str]) -> None:
        self.db.executemany(
            "UPDATE schedule_fired SET submitted = 1, payload = '' WHERE inbound_id = ?",
            [(i,) for i in inbound_ids],
        )

    async def delete_person(self, person_id: PersonId) -> int:
        db = self.db
        with db:
            db.execute("BEGIN")
            ids = [r[0] for r in db.execute(
                "SELECT id FROM schedules WHERE person_id = ?", (person_id,))]
            db.executemany("DELETE FROM schedule_fired WHERE schedule_id = ?",
                           [(i,) for i in ids])
            count = db.execute("DELETE FROM schedules WHERE person_id = ?",
                               (person_id,)).rowcount
        self._changed()
        return count

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        """The person's reminders and briefings whose text holds ``words`` (/forget TEXT)."""
        db = self.db
        with db:
            db.execute("BEGIN")
            ids = [r[0] for r in db.execute(
                "SELECT id, text FROM schedules WHERE person_id = ?", (person_id,))
                if mentions(r[1], words)]
            for sid in ids:
                db.execute("DELETE FROM schedule_fired WHERE schedule_id = ?", (sid,))
                db.execute("DELETE FROM schedules WHERE id = ?", (sid,))
        self._changed()
        return len(ids)

