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
