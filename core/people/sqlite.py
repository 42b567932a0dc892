"""People, their identities and preferences, and pairing on SQLite (the PeopleStore role)."""

from __future__ import annotations

import uuid

from core.db.connection import OnConnection, now_iso
from core.events import Sender
from core.ids import PersonId
from core.people.model import Pairing, Person, new_pairing_code


class SQLitePeople(OnConnection):
    async def person_for(self, channel: str, sender: Sender) -> PersonId:
        db = self.db
        row = db.execute(
            "SELECT person_id, display_name FROM identities WHERE channel = ? AND platform_id = ?",
            (channel, sender.platform_id),
        ).fetchone()
        if row:
            if sender.display_name and row[1] != sender.display_name:
                db.execute(
                    "UPDATE identities SET display_name = ? WHERE channel = ? AND platform_id = ?",
                    (sender.display_name, channel, sender.platform_id),
                )
            return PersonId(str(row[0]))
        person_id = PersonId(uuid.uuid4().hex)
        with db:
            db.execute("BEGIN")
            db.execute("INSERT INTO people (id, created_at) VALUES (?, ?)", (person_id, now_iso()))
            db.execute(
                "INSERT INTO identities (channel, platform_id, person_id, display_name) "
                "VALUES (?, ?, ?, ?)",
                (channel, sender.platform_id, person_id, sender.display_name),
            )
        return person_id

    async def identify(self, channel: str, sender: Sender) -> Person:
        person = await self.person_for(channel, sender)
        return Person(person, await self.preferences(person))

    async def preferences(self, person_id: PersonId) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT key, value FROM preferences WHERE person_id = ? ORDER BY key", (person_id,)
        ).fetchall()
        return {k: v for k, v in rows}

    async def set_preference(self, person_id: PersonId, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute(
                "DELETE FROM preferences WHERE person_id = ? AND key = ?", (person_id, key)
            )
            return
        self.db.execute(
            "INSERT INTO preferences (person_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (person_id, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (person_id, key, value, now_iso()),
        )

    # -- pairing -------------------------------------------------------------------------

    async def pairing(self, bot: str, channel: str, sender: Sender) -> Pairing:
        query = (
            "SELECT channel, platform_id, display_name, code, approved FROM pairings "
            "WHERE bot = ? AND channel = ? AND platform_id = ?"
        )
        row = self.db.execute(query, (bot, channel, sender.platform_id)).fetchone()
        if row:
            return Pairing(row[0], row[1], row[2], row[3], bool(row[4]))
        code = new_pairing_code()
        self.db.execute(
            "INSERT INTO pairings (bot, channel, platform_id, display_name, code, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (bot, channel, sender.platform_id, sender.display_name, code, now_iso()),
        )
        return Pairing(channel, sender.platform_id, sender.display_name, code, False, new=True)

    async def approve(self, bot: str, code: str) -> Pairing | None:
        row = self.db.execute(
            "SELECT channel, platform_id, display_name, code FROM pairings "
            "WHERE bot = ? AND code = ? AND approved = 0",
            (bot, code.strip().upper()),
        ).fetchone()
        if not row:
            return None
        self.db.execute(
            "UPDATE pairings SET approved = 1 WHERE bot = ? AND code = ?", (bot, row[3])
        )
        return Pairing(row[0], row[1], row[2], row[3], True)
