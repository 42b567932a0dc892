"""Changing a memory in place (its text, its scope) and reading where memories came from.

An edit is a correction, not a new fact: the row keeps its id and source, the full-text
index is told to drop the old words, and the stale vector goes (recall finds the memory by
its words until it is learned again). The caller scrubs the index and the WAL afterwards,
so the old text leaves the database file as a deletion does.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from core.ids import PersonId
from core.memory.forgetting import mentions


def update(
    db: sqlite3.Connection, person_id: PersonId, memory_id: str, *, text: str | None,
    scope: str | None, stamp: str,
) -> bool:
    """Set the text and/or scope of the person's active memory; False when there is none."""
    row = db.execute(
        "SELECT n, text FROM memories WHERE id = ? AND person_id = ? AND superseded_by IS NULL",
        (memory_id, person_id),
    ).fetchone()
    if row is None:
        return False
    n, old = row
    with db:
        db.execute("BEGIN")
        if text is not None and text != old:
            db.execute("UPDATE memories SET text = ?, updated_at = ? WHERE n = ?",
                       (text, stamp, n))
            db.execute("DELETE FROM memory_vectors WHERE n = ?", (n,))
            drop_command_turns(db, person_id)  # a /memory listing may retell the old words
        if scope is not None:
            db.execute("UPDATE memories SET scope = ?, updated_at = ? WHERE n = ?",
                       (scope, stamp, n))
    return True


def source_texts(db: sqlite3.Connection, inbound_ids: Sequence[str]) -> dict[str, str]:
    """What the person wrote in each source message that is still kept, by message id."""
    found: dict[str, str] = {}
    ids = list(dict.fromkeys(inbound_ids))
    for start in range(0, len(ids), 500):
        chunk = ids[start:start + 500]
        marks = ",".join("?" * len(chunk))
        rows = db.execute(
            f"SELECT inbound_id, text FROM turns WHERE role = 'user' AND inbound_id IN ({marks})",
            chunk,
        ).fetchall()
        found.update({r[0]: r[1] for r in rows})
    return found


def drop_command_turns(db: sqlite3.Connection, person_id: PersonId) -> None:
    """Commands' exchanges (a /memory listing, an /export) may retell what was forgotten:
    their turns go, and so do their finished inbox rows (the command and its stored answer).
    A command still being answered (this /forget itself) keeps its row."""
    mine = "(SELECT inbound_id FROM turns WHERE person_id = ? AND command = 1)"
    db.execute(f"DELETE FROM inbox WHERE id IN {mine} "
               "AND status NOT IN ('pending', 'answered', 'held')", (person_id,))
    db.execute(f"DELETE FROM turns WHERE command = 1 AND inbound_id IN {mine}", (person_id,))


OPEN = "('pending', 'answered', 'held')"  # being answered: the row delivers the reply


def drop_person_turns(db: sqlite3.Connection, person_id: PersonId) -> None:
    """Every message the person sent and every reply to one, wherever they spoke; the
    whole of each conversation nobody else spoke in (reminders fired there, commands);
    the inbox rows of those (payloads, stored replies) unless still being answered; and
    the summaries of every conversation touched. Inside the caller's transaction."""
    convs = [r[0] for r in db.execute(
        "SELECT DISTINCT conversation FROM turns WHERE person_id = ?", (person_id,))]
    alone = [c for c in convs if db.execute(
        "SELECT 1 FROM turns WHERE conversation = ? AND person_id IS NOT NULL "
        "AND person_id != ? LIMIT 1", (c, person_id)).fetchone() is None]
    mine = "(SELECT inbound_id FROM turns WHERE person_id = ? AND inbound_id IS NOT NULL)"
    db.execute(f"DELETE FROM inbox WHERE id IN {mine} AND status NOT IN {OPEN}", (person_id,))
    db.execute(f"DELETE FROM turns WHERE inbound_id IN {mine}", (person_id,))
    db.execute("DELETE FROM turns WHERE person_id = ?", (person_id,))
    for conv in alone:
        db.execute(f"DELETE FROM inbox WHERE conversation = ? AND status NOT IN {OPEN}", (conv,))
        db.execute("DELETE FROM turns WHERE conversation = ?", (conv,))
    db.executemany("UPDATE conversations SET summary = '', summary_upto = 0 WHERE key = ?",
                   [(c,) for c in convs])


def memories_with(db: sqlite3.Connection, person_id: PersonId, words: str) -> list[str]:
    """The person's memories (replaced ones too) whose text holds ``words``."""
    rows = db.execute("SELECT id, text FROM memories WHERE person_id = ?", (person_id,))
    return [r[0] for r in rows if mentions(r[1], words)]


def drop_turns_with(db: sqlite3.Connection, person_id: PersonId, words: str) -> None:
    """In every conversation the person spoke in: their messages holding ``words`` (with
    the reply to each), Kith's replies retelling them (to anyone), finished inbox rows
    whose payload or stored reply holds them (never another person's message), and the
    summaries of the conversations touched or retelling them."""
    convs = [r[0] for r in db.execute(
        "SELECT DISTINCT conversation FROM turns WHERE person_id = ?", (person_id,))]
    marks = ",".join("?" * len(convs))
    if not convs:
        return
    turns = db.execute(
        f"SELECT seq, conversation, role, person_id, inbound_id, text, quoted, trace "
        f"FROM turns WHERE conversation IN ({marks})", convs).fetchall()
    said = {t[4] for t in turns if t[3] == person_id and t[4]
            and (mentions(t[5], words) or mentions(t[6], words))}
    retold = [t[0] for t in turns if t[2] == "assistant"
              and (mentions(t[5], words) or mentions(t[7], words))]  # its words, its tools
    others = {t[4] for t in turns if t[3] is not None and t[3] != person_id}
    touched = {t[1] for t in turns if t[4] in said or t[0] in retold}
    db.executemany("DELETE FROM turns WHERE inbound_id = ?", [(i,) for i in said])
    db.executemany("DELETE FROM turns WHERE seq = ?", [(s,) for s in retold])
    rows = db.execute(f"SELECT id, payload, reply FROM inbox WHERE conversation IN ({marks}) "
                      f"AND status NOT IN {OPEN}", convs).fetchall()
    for row_id, payload, reply in rows:
        if row_id in said or (row_id not in others and mentions(payload, words)):
            db.execute("DELETE FROM inbox WHERE id = ?", (row_id,))
        elif mentions(reply, words):
            db.execute("UPDATE inbox SET reply = '' WHERE id = ?", (row_id,))
    summaries = db.execute(f"SELECT key, summary FROM conversations WHERE key IN ({marks})",
                           convs).fetchall()
    touched |= {k for k, summary in summaries if mentions(summary, words)}
    db.executemany("UPDATE conversations SET summary = '', summary_upto = 0 WHERE key = ?",
                   [(k,) for k in touched])
