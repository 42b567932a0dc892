"""One person, many identities on SQLite: link codes, merge, split, and the export.

The rules are :mod:`core.memory.links`'s.
"""

from __future__ import annotations

import sqlite3
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from core.db.schema import PersonRows
from core.events import ConversationKey
from core.ids import PersonId
from core.memory.links import new_code, refusal
from core.memory.model import Identity, LinkRefusal, LinkResult


def identities(db: sqlite3.Connection, person_id: PersonId) -> list[Identity]:
    rows = db.execute(
        "SELECT channel, platform_id, display_name FROM identities WHERE person_id = ? "
        "ORDER BY channel, platform_id", (person_id,),
    ).fetchall()
    return [Identity(*r) for r in rows]


def create_code(db: sqlite3.Connection, person_id: PersonId, now: datetime,
                ttl_seconds: int) -> str:
    db.execute("DELETE FROM link_codes WHERE expires_at < ?", (now.timestamp() - 86400,))
    for _ in range(10):
        code = new_code()
        try:
            db.execute(
                "INSERT INTO link_codes (code, person_id, created_at, expires_at) "
                "VALUES (?, ?, ?, ?)",
                (code, person_id, now.timestamp(), now.timestamp() + ttl_seconds),
            )
            return code
        except sqlite3.IntegrityError:
            continue
    raise RuntimeError("could not allocate a link code")


def redeem(db: sqlite3.Connection, code: str, person_id: PersonId, now: datetime,
           follow: Sequence[PersonRows] = ()) -> LinkResult:
    """Merge ``person_id`` into the code's issuer; the rows of the ``follow`` tables (other
    features' tables with a ``person_id``: reminders, lists) follow the person."""
    code = code.strip().upper()
    row = db.execute(
        "SELECT person_id, expires_at, used_at FROM link_codes WHERE code = ?", (code,)
    ).fetchone()
    if (refused := refusal(row, person_id, now)) is not None:
        return LinkResult(None, refused)
    issuer = PersonId(str(row[0]))
    mine = {i.channel for i in identities(db, issuer)}
    theirs = identities(db, person_id)
    with db:
        db.execute("BEGIN")
        db.execute("UPDATE link_codes SET used_at = ? WHERE code = ?", (now.timestamp(), code))
        if mine & {i.channel for i in theirs}:
            return LinkResult(None, LinkRefusal.CONFLICT)
        _merge(db, into=issuer, other=person_id, follow=follow)
    return LinkResult(issuer, None, tuple(theirs))


def _merge(db: sqlite3.Connection, into: str, other: str,
           follow: Sequence[PersonRows]) -> None:
    db.execute("UPDATE identities SET person_id = ? WHERE person_id = ?", (into, other))
    db.execute(
        "INSERT OR IGNORE INTO preferences (person_id, key, value, updated_at) "
        "SELECT ?, key, value, updated_at FROM preferences WHERE person_id = ?", (into, other),
    )
    db.execute("UPDATE memories SET person_id = ? WHERE person_id = ?", (into, other))
    db.execute("UPDATE turns SET person_id = ? WHERE person_id = ?", (into, other))
    for rows in follow:  # names from the features' schemas, never from input
        for statement in rows.merge("?1", "?2"):
            db.execute(statement, (into, other))
    # extraction work waiting for the other person becomes the merged person's
    db.execute("UPDATE OR IGNORE memory_learning SET person_id = ? WHERE person_id = ?",
               (into, other))
    db.execute(
        "UPDATE people SET learning = min(learning, "
        "(SELECT learning FROM people WHERE id = ?)) WHERE id = ?", (other, into),
    )
    db.execute("DELETE FROM link_codes WHERE person_id = ?", (other,))
    db.execute("DELETE FROM people WHERE id = ?", (other,))


def unlink(db: sqlite3.Connection, person_id: PersonId, channel: str,
           platform_id: str) -> PersonId | None:
    """Split the identity off into a new person; None when it is the person's only one."""
    if len(identities(db, person_id)) < 2:
        return None
    new_person = PersonId(uuid.uuid4().hex)
    with db:
        db.execute("BEGIN")
        db.execute(
            "INSERT INTO people (id, created_at, learning) "
            "SELECT ?, ?, learning FROM people WHERE id = ?",
            (new_person, datetime.now(UTC).isoformat(), person_id),
        )
        db.execute(
            "UPDATE identities SET person_id = ? WHERE person_id = ? AND channel = ? "
            "AND platform_id = ?", (new_person, person_id, channel, platform_id),
        )
        db.execute(
            "INSERT INTO preferences (person_id, key, value, updated_at) "
            "SELECT ?, key, value, updated_at FROM preferences WHERE person_id = ?",
            (new_person, person_id),
        )
        db.execute(
            "UPDATE memories SET person_id = ? WHERE person_id = ? AND source_channel = ? "
            "AND source_sender = ?", (new_person, person_id, channel, platform_id),
        )
        rows = db.execute(
            "SELECT DISTINCT conversation FROM turns WHERE person_id = ?", (person_id,)
        ).fetchall()
        for (conversation,) in rows:
            if ConversationKey.parse(conversation).channel == channel:
                db.execute(
                    "UPDATE turns SET person_id = ? WHERE person_id = ? AND conversation = ?",
                    (new_person, person_id, conversation),
                )
    return new_person


def export(db: sqlite3.Connection, person_id: PersonId) -> dict[str, Any]:
    """Everything stored about the person — and nothing about anyone else."""
    prefs = db.execute(
        "SELECT key, value, updated_at FROM preferences WHERE person_id = ? ORDER BY key",
        (person_id,),
    ).fetchall()
    learning = db.execute("SELECT learning FROM people WHERE id = ?", (person_id,)).fetchone()
    memories = db.execute(
        "SELECT id, text, kind, pref_key, scope, confidence, source_inbound, source_channel, "
        "source_at, expires_at, superseded_by, created_at, updated_at FROM memories "
        "WHERE person_id = ? ORDER BY n", (person_id,),
    ).fetchall()
    turns = db.execute(
        "SELECT conversation, text, created_at FROM turns WHERE person_id = ? AND role = 'user' "
        "ORDER BY seq", (person_id,),
    ).fetchall()
    return {
        "format": "kith-export/1",
        "person_id": person_id,
        "identities": [
            {"channel": i.channel, "platform_id": i.platform_id, "display_name": i.display_name}
            for i in identities(db, person_id)
        ],
        "learning": bool(learning[0]) if learning else True,
        "preferences": [{"key": k, "value": v, "updated_at": u} for k, v, u in prefs],
        "memories": [_memory_json(r) for r in memories],
        "messages": [{"conversation": c, "text": t, "at": a} for c, t, a in turns],
    }


def _memory_json(r: tuple[Any, ...]) -> dict[str, Any]:
    expires = datetime.fromtimestamp(r[9], UTC).isoformat() if r[9] is not None else None
    return {
        "id": r[0], "text": r[1], "kind": r[2], "pref_key": r[3], "scope": r[4],
        "confidence": r[5],
        "source": {"message": r[6], "channel": r[7], "at": r[8]},
        "expires_at": expires, "superseded_by": r[10], "created_at": r[11], "updated_at": r[12],
    }
