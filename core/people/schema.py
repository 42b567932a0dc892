"""The people feature's tables (people, their identities and preferences, pairing), on
both backends.

These steps were the "core" feature's (``formerly``) until people became a package of
their own; their SQL is as it shipped.
"""

from __future__ import annotations

from core.db.schema import Step

SQLITE: tuple[Step, ...] = (
    # people, their identities on each channel, their preferences
    Step("people", 1, "people", """    CREATE TABLE people (
        id TEXT PRIMARY KEY,
        created_at TEXT NOT NULL
    );
    CREATE TABLE identities (
        channel TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        display_name TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (channel, platform_id)
    );
    CREATE TABLE preferences (
        person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
        key TEXT NOT NULL,
        value TEXT NOT NULL,
        updated_at TEXT NOT NULL,
        PRIMARY KEY (person_id, key)
    );
    """, was=1, formerly=("core", 1)),
    # pairing of unknown senders, approved by the owner
    Step("people", 2, "pairings", """
    CREATE TABLE pairings (
        bot TEXT NOT NULL,
        channel TEXT NOT NULL,
        platform_id TEXT NOT NULL,
        display_name TEXT NOT NULL DEFAULT '',
        code TEXT NOT NULL,
        approved INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        PRIMARY KEY (bot, channel, platform_id)
    );
    CREATE UNIQUE INDEX pairings_code ON pairings(bot, code);
    """, was=2, formerly=("core", 2)),
)

_PEOPLE = """
CREATE TABLE people (
    id TEXT PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);
CREATE TABLE identities (
    channel TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    display_name TEXT NOT NULL DEFAULT '',
    PRIMARY KEY (channel, platform_id)
);
CREATE INDEX identities_person ON identities (person_id);
CREATE TABLE preferences (
    person_id TEXT NOT NULL REFERENCES people(id) ON DELETE CASCADE,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    updated_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (person_id, key)
);
CREATE TABLE pairings (
    bot TEXT NOT NULL,
    channel TEXT NOT NULL,
    platform_id TEXT NOT NULL,
    display_name TEXT NOT NULL DEFAULT '',
    code TEXT NOT NULL,
    approved BOOLEAN NOT NULL DEFAULT false,
    created_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (bot, channel, platform_id)
);
CREATE UNIQUE INDEX pairings_code ON pairings (bot, code);
"""

POSTGRES: tuple[Step, ...] = (
    Step("people", 1, "people", _PEOPLE, was="core/3-people", formerly=("core", 3)),
)
