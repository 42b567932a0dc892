"""SQLite memory rows: the column list, a row as a :class:`Memory`, and the visibility
filter in SQL (which memories a turn may see)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from core.memory.model import Memory, MemoryKind, Source, Visibility
from core.memory.scope import PRIVATE, SHARED, decode_scope, encode_scope

COLUMNS = (
    "id, person_id, text, kind, pref_key, scope, confidence, source_inbound, source_channel, "
    "source_sender, source_at, expires_at, superseded_by, created_at, updated_at"
)


def ts(value: datetime | None) -> float | None:
    return value.timestamp() if value is not None else None


def row(row: Sequence[Any]) -> Memory:
    expires = datetime.fromtimestamp(row[11], UTC) if row[11] is not None else None
    return Memory(
        id=row[0], person_id=row[1], text=row[2], kind=MemoryKind(row[3]), pref_key=row[4],
        scope=decode_scope(row[5]), confidence=row[6],
        source=Source(row[7], row[8], row[9], datetime.fromisoformat(row[10])),
        expires_at=expires, superseded_by=row[12],
        created_at=datetime.fromisoformat(row[13]), updated_at=datetime.fromisoformat(row[14]),
    )


def visible_sql(v: Visibility, now: datetime) -> tuple[str, list[Any]]:
    """WHERE clause (over alias ``m``) selecting the active memories ``v`` may see."""
    clauses: list[str] = []
    params: list[Any] = [now.timestamp()]
    if v.owner:
        clauses.append(f"(m.person_id = ? AND m.scope IN ('{PRIVATE}', '{SHARED}'))")
        params.append(v.owner)
    if v.group:
        clauses.append("m.scope = ?")
        params.append(encode_scope(v.group))
    if v.present:
        marks = ",".join("?" * len(v.present))
        clauses.append(f"(m.scope = '{SHARED}' AND m.person_id IN ({marks}))")
        params.extend(v.present)
    if not clauses:
        return "0", []
    where = "m.superseded_by IS NULL AND (m.expires_at IS NULL OR m.expires_at > ?) AND ("
    return where + " OR ".join(clauses) + ")", params
