"""``kith check``: one line when memory extraction has been failing (SQLite deployments)."""

from __future__ import annotations

import sqlite3
from pathlib import Path


def learning_line(db: Path) -> str | None:
    """What to say about extraction failures recorded in the learning queue, if any."""
    if not db.is_file():
        return None
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True) as conn:
            row = conn.execute("SELECT count(*), coalesce(sum(failures), 0) FROM "
                               "memory_learning WHERE failures > 0").fetchone()
    except sqlite3.Error:
        return None
    conversations, failures = int(row[0]), int(row[1])
    if not conversations:
        return None
    return (f"memory: extraction failed {failures} times in {conversations} conversation"
            f"{'s' if conversations != 1 else ''} (the model's answers did not fit the "
            "schema or it did not answer); nothing was learned from them yet — "
            "kith_memory_extract_failures_total on /metrics has the reasons")
