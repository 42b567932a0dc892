"""A feature's schema as per-feature migrations: what each feature package declares.

A feature (``lists``, ``memory`` …) lists its :class:`Step` s per backend, versions 1, 2, 3
… in order. The runner (``core.store.migrate``) applies the steps a database lacks and
records each as (feature, version). Append; never edit or reorder a shipped step.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Step:
    feature: str
    version: int
    label: str  # a few words: the name is "feature/version-label"
    sql: str
    # what the single migration list before per-feature migrations called this step
    # (SQLite: the schema_version it came with; PostgreSQL: its name), so a database made
    # then is adopted in place; None for steps written since
    was: int | str | None = None
    # the (feature, version) a database with per-feature migrations recorded this step as
    # before it moved to the feature that declares it now (the "core" steps of the inbox,
    # conversations and people): recorded anew under its own name, nothing runs again
    formerly: tuple[str, int] | None = None

    @property
    def name(self) -> str:
        return f"{self.feature}/{self.version}-{self.label}"


@dataclass(frozen=True, slots=True)
class PersonRows:
    """A feature's table whose rows belong to a person (its ``person_id`` column) and
    follow them when two of their identities are linked (the people merge).

    ``unique``: the other columns that, together with ``person_id``, are unique in the
    table (a primary or unique key), or None when no key has ``person_id`` in it. A row
    the person merged into already has under that key stays theirs; the other person's
    copy is dropped, as a preference both set is.
    """

    table: str
    unique: tuple[str, ...] | None = None

    def __post_init__(self) -> None:  # names from the features' code, never from input
        if not all(n.isidentifier() for n in (self.table, *(self.unique or ()))):
            raise ValueError(f"not a table or column name: {self}")

    def merge(self, into: str, other: str) -> tuple[str, ...]:
        """The statements that give ``other``'s rows to ``into``; ``into`` and ``other``
        are the backend's parameter markers (``?1``/``?2``, ``%(into)s``/``%(other)s``)."""
        move = f"UPDATE {self.table} SET person_id = {into} WHERE person_id = {other}"
        if self.unique is None:
            return (move,)
        same = "".join(f" AND x.{c} = {self.table}.{c}" for c in self.unique)
        return (f"{move} AND NOT EXISTS (SELECT 1 FROM {self.table} x "
                f"WHERE x.person_id = {into}{same})",
                f"DELETE FROM {self.table} WHERE person_id = {other}")
