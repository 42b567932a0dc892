"""The features the Store composes, in the order their schemas apply.

The inbox, conversations and people come first: every other feature's rows belong to a
person. The runner (:mod:`core.store.migrate`) applies the steps in this order.

A new stored feature: its package's ``schema.py`` declares ``SQLITE`` and ``POSTGRES``
steps (``Step("calendar", 1, "links", sql)``, then 2, 3 … — never edit a shipped one) and,
if its rows have a ``person_id`` that should follow a person whose identities are linked,
``PERSON_TABLES`` (a ``PersonRows`` per table, naming the key it has with ``person_id``);
add them below. A later change to a feature is its next step there.
"""

from __future__ import annotations

from core.actions import schema as actions
from core.calendar import schema as calendar
from core.conversations import schema as conversations
from core.db.schema import PersonRows, Step
from core.inbox import schema as inbox
from core.lists import schema as lists
from core.memory import schema as memory
from core.offers import schema as offers
from core.people import schema as people
from core.schedule import schema as schedule
from core.store.postgres import schema_coord as coord
from core.store.postgres import schema_leader as leader

SQLITE: tuple[Step, ...] = (
    *inbox.SQLITE, *conversations.SQLITE, *people.SQLITE, *memory.SQLITE, *schedule.SQLITE,
    *lists.SQLITE, *actions.SQLITE, *calendar.SQLITE, *offers.SQLITE)
POSTGRES: tuple[Step, ...] = (
    *inbox.POSTGRES, *conversations.POSTGRES, *people.POSTGRES, *memory.POSTGRES,
    *schedule.POSTGRES, *lists.POSTGRES, *coord.MIGRATIONS, *leader.MIGRATIONS,
    *actions.POSTGRES, *calendar.POSTGRES, *offers.POSTGRES)

# the features' tables whose rows follow a person when two of their identities are linked
PERSON_TABLES: tuple[PersonRows, ...] = (
    *schedule.PERSON_TABLES, *lists.PERSON_TABLES, *actions.PERSON_TABLES,
    *offers.PERSON_TABLES)
