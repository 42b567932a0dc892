"""PostgreSQL schema: provenance and tool traces on turns, the summary's origin.

Append-only (name, sql) pairs; mirror SQLite migration 11 (:mod:`core.store.migrations`).
"""

from __future__ import annotations

_PROVENANCE = """
ALTER TABLE turns ADD COLUMN origin TEXT NOT NULL DEFAULT '';
ALTER TABLE turns ADD COLUMN trace TEXT NOT NULL DEFAULT '';
UPDATE turns SET origin = CASE WHEN read_quoted THEN 'quote'
                               WHEN role = 'user' THEN 'person' ELSE 'kith' END;
ALTER TABLE conversations ADD COLUMN summary_origin TEXT NOT NULL DEFAULT 'kith';
UPDATE conversations c SET summary_origin = 'quote' WHERE EXISTS (
    SELECT 1 FROM turns t WHERE t.conversation = c.key AND t.epoch = c.epoch
    AND t.read_quoted AND t.seq <= c.summary_upto);
"""

MIGRATIONS: tuple[tuple[str, str], ...] = (
    ("history/1-provenance", _PROVENANCE),
)
