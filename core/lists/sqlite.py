"""SQLite ListStore, on the Store's connection."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Sequence
from datetime import datetime

from core.ids import PersonId
from core.lists.model import ListItem, matching, new_items
from core.memory.forgetting import mentions


class SQLiteListStore:
    def __init__(self, db: Callable[[], sqlite3.Connection]) -> None:
        self._db = db

    @property
    def db(self) -> sqlite3.Connection:
        return self._db()

    async def add_items(self, person_id: PersonId, name: str, items: Sequence[str],
                        now: datetime) -> list[str]:
        fresh = new_items(await self.items(person_id, name), items)
        self.db.executemany(
            "INSERT INTO list_items (person_id, list, item, created_at) VALUES (?, ?, ?, ?)",
            [(person_id, name, item, now.isoformat()) for item in fresh],
        )
        return fresh

    async def items(self, person_id: PersonId, name: str | None = None,
                    include_done: bool = False) -> list[ListItem]:
        query = "SELECT list, item, done, created_at FROM list_items WHERE person_id = ?"
        args: list[object] = [person_id]
        if name is not None:
            query += " AND list = ?"
            args.append(name)
        if not include_done:
            query += " AND done = 0"
        rows = self.db.execute(query + " ORDER BY list, n", args).fetchall()
        return [ListItem(r[0], r[1], bool(r[2]), datetime.fromisoformat(r[3])) for r in rows]

    async def check_off(self, person_id: PersonId, name: str, items: Sequence[str]) -> list[str]:
        done = matching(await self.items(person_id, name), items)
        self.db.executemany(
            "UPDATE list_items SET done = 1 WHERE person_id = ? AND list = ? AND item = ?",
            [(person_id, name, item) for item in done],
        )
        return done

    async def delete_person(self, person_id: PersonId) -> int:
        return self.db.execute(
            "DELETE FROM list_items WHERE person_id = ?", (person_id,)).rowcount

    async def delete_matching(self, person_id: PersonId, words: str) -> int:
        ns = [r[0] for r in self.db.execute(
            "SELECT n, item FROM list_items WHERE person_id = ?", (person_id,))
            if mentions(r[1], words)]
        self.db.executemany("DELETE FROM list_items WHERE n = ?", [(n,) for n in ns])
        return len(ns)
