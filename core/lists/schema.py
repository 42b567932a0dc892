"""The lists feature's table, on both backends."""

from __future__ import annotations

from core.db.schema import PersonRows, Step

# rows that follow a person whose identities merge
PERSON_TABLES = (PersonRows("list_items"),)

SQLITE: tuple[Step, ...] = (
    # per-person lists (shopping, packing …)
    Step("lists", 1, "items", """
    CREATE TABLE list_items (
        n INTEGER PRIMARY KEY,
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        list TEXT NOT NULL,
        item TEXT NOT NULL,
        done INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL
    );
    CREATE INDEX list_items_person ON list_items(person_id, list, done);
    """, was=7),
)

POSTGRES: tuple[Step, ...] = (
    Step("lists", 1, "items", """
CREATE TABLE list_items (
    n BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    list TEXT NOT NULL,
    item TEXT NOT NULL,
    done BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX list_items_person ON list_items (person_id, list, done);
""", was="schedule/2-lists"),
)
