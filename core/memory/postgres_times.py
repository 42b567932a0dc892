"""Reading timestamps from columns another role owns: ISO text (as on SQLite) or TIMESTAMPTZ.

The memory store writes its own times as TIMESTAMPTZ; ``turns.created_at`` and
``preferences.updated_at`` belong to the core schema, so both forms are read alike.
"""

from __future__ import annotations

from datetime import UTC, datetime


def as_datetime(value: object) -> datetime:
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else value
    return datetime.fromisoformat(str(value))


def as_iso(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return as_datetime(value).isoformat()
    return str(value)
