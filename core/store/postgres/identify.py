"""Who is speaking, on PostgreSQL, as a turn starts: the person, their preferences, the
calendar password they were asked for and their learned profile (the newest memories of
:data:`core.memory.model.LEARNED_KINDS`), in one statement.

A turn's calendar linking step needs the asking for every private message (the password
after ``/calendar connect`` may reach any replica), so it is read with the person rather
than in a statement of its own. The learned profile rides along for the same reason (a private
turn's prompt reads it; a group's turn does not need it, and the few rows cost less than a
round trip). It reads the tables of three features (people, calendar links, memory), so it
lives with the Store, the one place that knows them all.
"""

from __future__ import annotations

from core.calendar.links_postgres import asking_row
from core.events import Sender
from core.ids import PersonId
from core.memory.model import LEARNED_KINDS, LEARNED_READ
from core.memory.postgres import COLUMNS, memory_row
from core.people.model import Person
from core.people.postgres import PostgresPeople

# the person (once), then their learned profile's memories beside them (none: one row of
# NULLs), newest first
_IDENTIFY = ("WITH who AS MATERIALIZED (SELECT i.person_id, i.display_name, "
             "coalesce((SELECT array_agg(ARRAY[p.key, p.value] ORDER BY p.key) FROM preferences p "
             "WHERE p.person_id = i.person_id), '{}') AS prefs, a.conversation, a.url, "
             "a.username, a.asked_at FROM identities i "
             "LEFT JOIN calendar_asking a ON a.person_id = i.person_id "
             "WHERE i.channel = %(channel)s AND i.platform_id = %(platform)s) "
             f"SELECT who.*, m.* FROM who LEFT JOIN LATERAL (SELECT {COLUMNS}, n FROM memories "
             "WHERE person_id = who.person_id AND superseded_by IS NULL AND kind = ANY(%(kinds)s) "
             "ORDER BY n DESC LIMIT %(limit)s) m ON true ORDER BY m.n DESC")  # a memory's n: last


_WHO = 7  # the columns of `who`; a memory's follow


class PostgresIdentify(PostgresPeople):
    async def identify(self, channel: str, sender: Sender) -> Person:
        async with self._pool.connection() as conn:
            cur = await conn.execute(_IDENTIFY.encode(), {
                "channel": channel, "platform": sender.platform_id,
                "kinds": list(LEARNED_KINDS), "limit": LEARNED_READ})
            rows = await cur.fetchall()
            if not rows:  # someone new: nothing to prefer or asked (learned: read as before)
                return Person(await self._new_person(conn, channel, sender), {})
            row = rows[0]
            await self._renamed(conn, channel, sender, str(row[1]))
        person = PersonId(str(row[0]))
        learned = tuple(memory_row(r[_WHO:]) for r in rows if r[_WHO] is not None)
        return Person(person, {str(k): str(v) for k, v in row[2]},
                      asking_row(person, row[3:_WHO]), learned)
