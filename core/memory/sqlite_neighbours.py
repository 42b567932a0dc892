"""Conversation neighbours on SQLite (see :mod:`core.memory.neighbours`).

For each memory, the same person's current memory stored just before and just after it,
each read by the ``memories_person`` index (person, superseded_by, rowid): two bounded
index seeks per memory, whatever the size of the store. A neighbour counts only if it is
from the same channel, within the gap, and visible to the asker.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime, timedelta

from core.memory.model import Visibility
from core.memory.neighbours import GAP, Adjacent, near
from core.memory.sqlite_rows import visible_sql

_SIDE = ("SELECT id, source_channel, source_at FROM memories INDEXED BY memories_person "
         "WHERE person_id = ? AND superseded_by IS NULL AND n {op} ? ORDER BY n {order} "
         "LIMIT 1")
_BEFORE = _SIDE.format(op="<", order="DESC")
_AFTER = _SIDE.format(op=">", order="ASC")


def adjacent(
    db: sqlite3.Connection, visibility: Visibility, ids: Sequence[str], now: datetime,
    gap: timedelta = GAP,
) -> dict[str, Adjacent]:
    if not ids:
        return {}
    marks = ",".join("?" * len(ids))
    heads = db.execute(
        f"SELECT id, n, person_id, source_channel, source_at FROM memories WHERE id IN ({marks})",
        list(ids),
    ).fetchall()
    sides: dict[str, list[str | None]] = {}
    for memory_id, n, person, channel, at in heads:
        when = datetime.fromisoformat(at)
        pair: list[str | None] = []
        for sql in (_BEFORE, _AFTER):
            row = db.execute(sql, (person, n)).fetchone()
            ok = row is not None and near(channel, when, row[1], datetime.fromisoformat(row[2]),
                                          gap)
            pair.append(row[0] if ok else None)
        sides[memory_id] = pair
    wanted = list({i for pair in sides.values() for i in pair if i is not None})
    if not wanted:
        return {}
    where, params = visible_sql(visibility, now)
    marks = ",".join("?" * len(wanted))
    # the few rows by id first: the planner would rather walk the person's index
    seen = {r[0] for r in db.execute(
        f"WITH c AS MATERIALIZED (SELECT * FROM memories WHERE id IN ({marks})) "
        f"SELECT m.id FROM c m WHERE {where}", [*wanted, *params])}
    out: dict[str, Adjacent] = {}
    for memory_id, (before, after) in sides.items():
        found = Adjacent(before if before in seen else None, after if after in seen else None)
        if found.before or found.after:
            out[memory_id] = found
    return out
