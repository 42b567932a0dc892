"""Who is speaking, on PostgreSQL, as a turn starts: the person, their preferences and the
calendar password they were asked for, in one statement.

A turn's calendar linking step needs the asking for every private message (the password
after ``/calendar connect`` may reach any replica), so it is read with the person rather
than in a statement of its own. It reads the tables of two features (people, calendar
links), so it lives with the Store, the one place that knows them all.
"""

from __future__ import annotations

from core.calendar.links_postgres import asking_row
from core.events import Sender
from core.ids import PersonId
from core.people.model import Person
from core.people.postgres import PostgresPeople

_IDENTIFY = ("SELECT i.person_id, i.display_name, coalesce((SELECT array_agg(ARRAY[p.key, "
             "p.value] ORDER BY p.key) FROM preferences p WHERE p.person_id = i.person_id), "
             "'{}'), a.conversation, a.url, a.username, a.asked_at FROM identities i "
             "LEFT JOIN calendar_asking a ON a.person_id = i.person_id "
             "WHERE i.channel = %s AND i.platform_id = %s")


class PostgresIdentify(PostgresPeople):
    async def identify(self, channel: str, sender: Sender) -> Person:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_IDENTIFY, (channel, sender.platform_id))
            row = await cur.fetchone()
            if row is None:  # someone new: nothing to prefer, nothing asked yet
                return Person(await self._new_person(conn, channel, sender), {})
            await self._renamed(conn, channel, sender, str(row[1]))
            person = PersonId(str(row[0]))
            return Person(person, {str(k): str(v) for k, v in row[2]},
                          asking_row(person, row[3:]))
