"""``kith check`` says once when memory extraction has been failing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from bots.learning_check import learning_line
from core.store.sqlite import SQLiteStore


async def test_one_line_for_failing_extraction(tmp_path: Path) -> None:
    db = tmp_path / "kith.sqlite3"
    assert learning_line(db) is None  # no database yet
    store = SQLiteStore(db)
    await store.open()
    await store.close()
    assert learning_line(db) is None  # nothing failed
    with sqlite3.connect(db) as conn:
        conn.execute("PRAGMA foreign_keys=OFF")
        for conv, failures in (("a", 2), ("b", 1), ("c", 0)):
            conn.execute("INSERT INTO memory_learning (conversation, person_id, channel, "
                         "sender, is_group, failures, updated_at) VALUES (?, 'p', 'web', "
                         "'s', 0, ?, 0)", (conv, failures))
    line = learning_line(db)
    assert line is not None and "\n" not in line
    assert "failed 3 times in 2 conversations" in line and "/metrics" in line
