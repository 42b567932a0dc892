"""People, their preferences, and pairing on PostgreSQL (the PeopleStore role).

Two replicas may meet a new sender at the same moment: the identity's primary key decides,
and the one that lost the race rolls its new person back and reads the winner's.
"""

from __future__ import annotations

import uuid

import psycopg

from core.db.pool import OnPool
from core.events import Sender
from core.ids import PersonId
from core.people.model import Pairing, Person, new_pairing_code

# the sender's identity and their person's preferences, in one statement
_IDENTIFY = ("SELECT i.person_id, i.display_name, coalesce((SELECT array_agg(ARRAY[p.key, p.value] "
             "ORDER BY p.key) FROM preferences p WHERE p.person_id = i.person_id), '{}') "
             "FROM identities i WHERE i.channel = %s AND i.platform_id = %s")
_PAIRING = ("SELECT channel, platform_id, display_name, code, approved FROM pairings "
            "WHERE bot = %s AND channel = %s AND platform_id = %s")


class PostgresPeople(OnPool):
    async def person_for(self, channel: str, sender: Sender) -> PersonId:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT person_id, display_name FROM identities "
                "WHERE channel = %s AND platform_id = %s", (channel, sender.platform_id))
            row = await cur.fetchone()
            if row:
                await self._renamed(conn, channel, sender, str(row[1]))
                return PersonId(str(row[0]))
            return await self._new_person(conn, channel, sender)

    async def identify(self, channel: str, sender: Sender) -> Person:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_IDENTIFY, (channel, sender.platform_id))
            row = await cur.fetchone()
            if row is None:  # someone new: nothing to prefer yet
                return Person(await self._new_person(conn, channel, sender), {})
            await self._renamed(conn, channel, sender, str(row[1]))
            return Person(PersonId(str(row[0])), {str(k): str(v) for k, v in row[2]})

    @staticmethod
    async def _renamed(conn: psycopg.AsyncConnection[tuple[object, ...]], channel: str,
                       sender: Sender, known: str) -> None:
        if sender.display_name and known != sender.display_name:
            await conn.execute(
                "UPDATE identities SET display_name = %s WHERE channel = %s AND platform_id = %s",
                (sender.display_name, channel, sender.platform_id))

    @staticmethod
    async def _new_person(conn: psycopg.AsyncConnection[tuple[object, ...]], channel: str,
                          sender: Sender) -> PersonId:
        person_id = PersonId(uuid.uuid4().hex)
        async with conn.transaction() as tx:
            await conn.execute("INSERT INTO people (id, created_at) VALUES (%s, now())",
                               (person_id,))
            cur = await conn.execute(
                "INSERT INTO identities (channel, platform_id, person_id, display_name) "
                "VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING",
                (channel, sender.platform_id, person_id, sender.display_name))
            if cur.rowcount == 1:
                return person_id
            raise psycopg.Rollback(tx)  # another replica made this person first
        cur = await conn.execute(
            "SELECT person_id FROM identities WHERE channel = %s AND platform_id = %s",
            (channel, sender.platform_id))
        row = await cur.fetchone()
        assert row is not None
        return PersonId(str(row[0]))

    async def preferences(self, person_id: PersonId) -> dict[str, str]:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "SELECT key, value FROM preferences WHERE person_id = %s ORDER BY key",
                (person_id,))
            return {str(k): str(v) for k, v in await cur.fetchall()}

    async def set_preference(self, person_id: PersonId, key: str, value: str | None) -> None:
        async with self._pool.connection() as conn:
            if value is None:
                await conn.execute("DELETE FROM preferences WHERE person_id = %s AND key = %s",
                                   (person_id, key))
                return
            await conn.execute(
                "INSERT INTO preferences (person_id, key, value, updated_at) "
                "VALUES (%s, %s, %s, now()) ON CONFLICT (person_id, key) "
                "DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (person_id, key, value))

    # -- pairing -------------------------------------------------------------------------

    async def pairing(self, bot: str, channel: str, sender: Sender) -> Pairing:
        async with self._pool.connection() as conn:
            while True:
                cur = await conn.execute(_PAIRING, (bot, channel, sender.platform_id))
                row = await cur.fetchone()
                if row:
                    return Pairing(row[0], row[1], row[2], row[3], bool(row[4]))
                code = new_pairing_code()
                cur = await conn.execute(
                    "INSERT INTO pairings (bot, channel, platform_id, display_name, code, "
                    "created_at) VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT DO NOTHING",
                    (bot, channel, sender.platform_id, sender.display_name, code))
                if cur.rowcount == 1:
                    return Pairing(channel, sender.platform_id, sender.display_name, code,
                                   False, new=True)
                # another replica paired this sender just now (read it), or the code is
                # taken in this bot (draw another)

    async def approve(self, bot: str, code: str) -> Pairing | None:
        async with self._pool.connection() as conn:
            cur = await conn.execute(
                "UPDATE pairings SET approved = true "
                "WHERE bot = %s AND code = %s AND NOT approved "
                "RETURNING channel, platform_id, display_name, code",
                (bot, code.strip().upper()))
            row = await cur.fetchone()
        return Pairing(row[0], row[1], row[2], row[3], True) if row else None
