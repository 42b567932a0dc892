"""One migration mechanism for both backends: per-feature steps, one (feature, version) table.

Each feature package declares its steps (:class:`core.db.schema.Step`) for SQLite and for
PostgreSQL; :mod:`core.store.features` puts them in order. A database records every step
it has applied in ``feature_migrations`` as (feature, version). This module decides what
to run (pure) and runs it on SQLite; ``core.store.postgres.migrations`` runs the same plan
on PostgreSQL, under an advisory lock for replicas starting together.

A database made before per-feature steps recorded one list instead (SQLite: the
``schema_version`` numbers; PostgreSQL: ``schema_migrations`` names). The first time it is
opened, the steps that list covers (a step's ``was``) are recorded as applied, in the same
transaction that creates ``feature_migrations``: the tables and their rows stay as they are.
The old table is left in place, unread.

A step that moved to another feature (``Step.formerly``: the inbox's, conversations' and
people's steps were the "core" feature's) is recorded under its new name, in place of the
old, the first time a database that recorded the old name is opened: nothing runs again.
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection, Iterable, Sequence

from core.db.schema import Step
from core.store.features import SQLITE

TABLE = "feature_migrations"
_NAME = re.compile(r"[a-z][a-z0-9_]*/[1-9][0-9]*-[a-z0-9-]+")


def check(steps: Sequence[Step]) -> None:
    """Every feature's versions run 1, 2, 3 … in the order given; names are plain."""
    last: dict[str, int] = {}
    for step in steps:
        if step.version != last.get(step.feature, 0) + 1:
            raise RuntimeError(f"migration {step.name} is out of order")
        if not _NAME.fullmatch(step.name):
            raise RuntimeError(f"migration name {step.name!r} is not plain")
        last[step.feature] = step.version


def adopted(steps: Iterable[Step], legacy: Collection[int | str]) -> list[Step]:
    """The steps an old single-list database already has (its versions or names)."""
    return [s for s in steps if s.was is not None and s.was in legacy]


def _known(steps: Sequence[Step]) -> list[Step]:
    """Every step this code knows, so a run of a few features adopts all the old list has."""
    return list(dict.fromkeys((*SQLITE, *steps)))


def moved(steps: Iterable[Step], applied: Collection[tuple[str, int]]) -> list[Step]:
    """The steps ``applied`` records under the name they had before they moved."""
    return [s for s in steps
            if s.formerly in applied and (s.feature, s.version) not in applied]


def retired(renamed: Iterable[Step]) -> list[tuple[str, int]]:
    """The old (feature, version) rows the renamed steps replace."""
    return list(dict.fromkeys(s.formerly for s in renamed if s.formerly is not None))


def missing(steps: Iterable[Step], applied: Collection[tuple[str, int]]) -> list[Step]:
    return [s for s in steps if (s.feature, s.version) not in applied]


def _has_table(db: sqlite3.Connection, name: str) -> bool:
    return db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (name,)).fetchone() is not None


def _record(step: Step) -> str:
    return (f"INSERT INTO {TABLE} (feature, version, name) "  # plain names (``check``)
            f"VALUES ('{step.feature}', {step.version}, '{step.name}')")


def migrate_sqlite(db: sqlite3.Connection, steps: Sequence[Step] = SQLITE) -> list[str]:
    """Apply the steps ``db`` lacks, each in its own transaction; return their names."""
    check(steps)
    if not _has_table(db, TABLE):
        legacy: range = range(0)
        if _has_table(db, "schema_version"):
            row = db.execute("SELECT max(version) FROM schema_version").fetchone()
            legacy = range(1, int(row[0] or 0) + 1)
        db.executescript(
            f"BEGIN IMMEDIATE; CREATE TABLE {TABLE} (feature TEXT NOT NULL, "
            "version INTEGER NOT NULL, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL DEFAULT CURRENT_TIMESTAMP, PRIMARY KEY (feature, version)); "
            + "".join(f"{_record(s)}; " for s in adopted(_known(steps), legacy))
            + "COMMIT;")
    applied = {(str(f), int(v)) for f, v in db.execute(f"SELECT feature, version FROM {TABLE}")}
    renamed = moved(_known(steps), applied)
    if renamed:
        db.executescript(
            "BEGIN IMMEDIATE; " + "".join(f"{_record(s)}; " for s in renamed)
            + "".join(f"DELETE FROM {TABLE} WHERE feature = '{f}' AND version = {v}; "
                      for f, v in retired(renamed))  # plain names (``check``)
            + "COMMIT;")
        applied = (applied | {(s.feature, s.version) for s in renamed}) - set(retired(renamed))
    done: list[str] = []
    for step in missing(steps, applied):
        db.executescript(f"BEGIN; {step.sql}; {_record(step)}; COMMIT;")
        done.append(step.name)
    return done
