"""The calendar links' tables (people's own calendars, :mod:`core.calendar.links`), on both
backends."""

from __future__ import annotations

from core.db.schema import Step

SQLITE: tuple[Step, ...] = (
    Step("calendar", 1, "links", """
CREATE TABLE calendar_links (
    person_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    username TEXT NOT NULL,
    sealed BLOB NOT NULL,
    linked_at REAL NOT NULL
);
CREATE TABLE calendar_asking (
    person_id TEXT PRIMARY KEY,
    conversation TEXT NOT NULL,
    url TEXT NOT NULL,
    username TEXT NOT NULL,
    asked_at REAL NOT NULL
);
"""),
)

POSTGRES: tuple[Step, ...] = (
    Step("calendar", 1, "links", """
CREATE TABLE calendar_links (
    person_id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    username TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    linked_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE calendar_asking (
    person_id TEXT PRIMARY KEY,
    conversation TEXT NOT NULL,
    url TEXT NOT NULL,
    username TEXT NOT NULL,
    asked_at TIMESTAMPTZ NOT NULL
);
"""),
)
