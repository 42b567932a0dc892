"""SQLite Store (stdlib sqlite3, WAL). The embedded default.

Statements are short and indexed, so they run on the event loop thread: a commit in WAL
mode with ``synchronous=NORMAL`` costs tens of microseconds, far less than a thread hop.
``synchronous=NORMAL`` survives a killed process; ``FULL`` also survives power loss.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import secrets
import sqlite3
import uuid
from datetime import UTC, datetime
from pathlib import Path

from core.actions.sqlite import SQLiteActionStore
from core.calendar.links_store import SQLiteCalendarLinks
from core.codec import inbound_from_json, inbound_to_json, quoted_from_json, quoted_to_json
from core.events import ConversationKey, Inbound, Sender
from core.history import reply_origin, trace_from_json, trace_to_json, user_origin
from core.logging import get_logger
from core.memory import terms
from core.memory.store import SQLiteMemoryStore
from core.provenance import Origin
from core.schedule.sqlite import SQLiteListStore, SQLiteScheduleStore
from core.store.base import (
    ConversationState,
    Delivery,
    InboxStatus,
    Pairing,
    Turn,
    TurnRecord,
)
from core.store.migrations import MIGRATIONS

log = get_logger("kith.store")
CHECKPOINT_EVERY = 1.0  # seconds between background WAL checkpoints


def new_pairing_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    return "".join(secrets.choice(alphabet) for _ in range(6))


def private_file(path: Path) -> None:
    """The database's directory 0700 (created so) and the file 0600, before any data."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


def _now() -> str:
    return datetime.now(UTC).isoformat()


class SQLiteStore:
    def __init__(self, path: Path | str, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._db: sqlite3.Connection | None = None
        self._checkpointer: asyncio.Task[None] | None = None
        self._memories = SQLiteMemoryStore(lambda: self.db)
        self._schedule = SQLiteScheduleStore(lambda: self.db)
        self._lists = SQLiteListStore(lambda: self.db)
        self._actions = SQLiteActionStore(lambda: self.db)
        self._calendar_links = SQLiteCalendarLinks(lambda: self.db)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("store is not open")
        return self._db

    @property
    def memories(self) -> SQLiteMemoryStore:
        return self._memories

    @property
    def schedule(self) -> SQLiteScheduleStore:
        return self._schedule

    @property
    def lists(self) -> SQLiteListStore:
        return self._lists

    @property
    def actions(self) -> SQLiteActionStore:
        return self._actions

    @property
    def calendar_links(self) -> SQLiteCalendarLinks:
        return self._calendar_links

    async def open(self) -> None:
        private_file(self.path)
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        db.execute("PRAGMA journal_mode=WAL")
        db.execute(f"PRAGMA synchronous={self._synchronous}")
        db.execute("PRAGMA foreign_keys=ON")
        db.execute("PRAGMA secure_delete=ON")  # deleted text is overwritten, not left in pages
        db.execute("PRAGMA busy_timeout=5000")
        # checkpoints (which fsync) run on a thread, not inside a turn on the event loop
        db.execute("PRAGMA wal_autocheckpoint=0")
        terms.register(db)  # the memory_terms triggers' functions (before the migrations)
        self._db = db
        for suffix in ("-wal", "-shm"):  # SQLite gives them the database's mode; make sure
            side = self.path.with_name(self.path.name + suffix)
            if side.exists():
                os.chmod(side, 0o600)
        self._migrate()
        self._checkpointer = asyncio.create_task(self._checkpoint_loop())
        self._memories.warm()  # large vector indexes build in the background

    async def _checkpoint_loop(self) -> None:
        helper = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        helper.execute("PRAGMA busy_timeout=5000")
        job: asyncio.Future[sqlite3.Cursor] | None = None
        try:
            while True:
                await asyncio.sleep(CHECKPOINT_EVERY)
                job = asyncio.ensure_future(
                    asyncio.to_thread(helper.execute, "PRAGMA wal_checkpoint(PASSIVE)"))
                try:
                    await asyncio.shield(job)
                except sqlite3.Error as err:  # busy or locked: the next round catches up
                    log.warning("wal_checkpoint_failed", error=str(err))
        finally:
            if job is not None and not job.done():  # cancelled mid-checkpoint: the thread
                await asyncio.wait([job])  # still uses the connection; closing it under
            helper.close()  # a running statement crashed the process

    def _migrate(self) -> None:
        db = self.db
        db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
        row = db.execute("SELECT max(version) FROM schema_version").fetchone()
        current = row[0] or 0
        for version, script in enumerate(MIGRATIONS[current:], start=current + 1):
            db.executescript(
                f"BEGIN; {script}; INSERT INTO schema_version VALUES ({version}); COMMIT;"
            )

    async def close(self) -> None:
        self._memories.close()
        if self._checkpointer is not None:
            self._checkpointer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._checkpointer
            self._checkpointer = None
        if self._db is not None:
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._db.close()
            self._db = None

    async def healthy(self) -> bool:
        try:
            self.db.execute("SELECT 1").fetchone()
        except (sqlite3.Error, RuntimeError):
            return False
        return True

    # -- inbox ---------------------------------------------------------------------------

    async def record_inbound(self, inbound: Inbound) -> bool:
        cur = self.db.execute(
            "INSERT OR IGNORE INTO inbox (id, conversation, payload, received_at) "
            "VALUES (?, ?, ?, ?)",
            (inbound.id, str(inbound.conversation), inbound_to_json(inbound),
             inbound.received_at.isoformat()),
        )
        return cur.rowcount == 1

    async def pending(self) -> list[Inbound]:
        rows = self.db.execute(
            "SELECT payload FROM inbox WHERE status IN ('pending', 'answered', 'held') "
            "ORDER BY rowid"
        ).fetchall()
        return [inbound_from_json(r[0]) for r in rows]

    async def open_in(self, conversation: str) -> list[Inbound]:
        rows = self.db.execute(
            "SELECT payload FROM inbox WHERE conversation = ? "
            "AND status IN ('pending', 'answered', 'held') ORDER BY rowid",
            (conversation,),
        ).fetchall()
        return [inbound_from_json(r[0]) for r in rows]

    async def inbox_status(self, inbound_id: str) -> InboxStatus | None:
        row = self.db.execute("SELECT status FROM inbox WHERE id = ?", (inbound_id,)).fetchone()
        return InboxStatus(row[0]) if row else None

    # -- delivery state ------------------------------------------------------------------

    async def delivery(self, inbound_id: str) -> Delivery | None:
        row = self.db.execute(
            "SELECT status, reply, reply_status, platform_ids, answered_at, held_since "
            "FROM inbox WHERE id = ?", (inbound_id,)).fetchone()
        if row is None:
            return None
        status, reply, reply_status, ids, answered, held = row
        return Delivery(InboxStatus(status), reply, reply_status, tuple(json.loads(ids)),
                        datetime.fromisoformat(answered) if answered else None,
                        datetime.fromisoformat(held) if held else None)

    async def record_sent(self, inbound_id: str, platform_ids: tuple[str, ...]) -> None:
        self.db.execute("UPDATE inbox SET platform_ids = ? WHERE id = ?",
                        (json.dumps(list(platform_ids)), inbound_id))

    async def mark_delivered(self, inbound_id: str, platform_ids: tuple[str, ...]) -> None:
        self.db.execute("UPDATE inbox SET status = 'delivered', platform_ids = ? WHERE id = ?",
                        (json.dumps(list(platform_ids)), inbound_id))

    async def mark_undeliverable(self, inbound_id: str) -> None:
        self.db.execute("UPDATE inbox SET status = 'undeliverable' WHERE id = ?", (inbound_id,))

    async def hold(self, inbound_id: str, since: datetime) -> None:
        self.db.execute(
            "UPDATE inbox SET status = 'held', held_since = coalesce(held_since, ?), "
            "platform_ids = '[]' WHERE id = ? AND status IN ('pending', 'held')",
            (since.isoformat(), inbound_id))

    async def drop_held(self, inbound_id: str) -> None:
        self.db.execute("UPDATE inbox SET status = 'failed' WHERE id = ? AND status = 'held'",
                        (inbound_id,))

    # -- people --------------------------------------------------------------------------

    async def person_for(self, channel: str, sender: Sender) -> str:
        db = self.db
        row = db.execute(
            "SELECT person_id, display_name FROM identities WHERE channel = ? AND platform_id = ?",
            (channel, sender.platform_id),
        ).fetchone()
        if row:
            if sender.display_name and row[1] != sender.display_name:
                db.execute(
                    "UPDATE identities SET display_name = ? WHERE channel = ? AND platform_id = ?",
                    (sender.display_name, channel, sender.platform_id),
                )
            return str(row[0])
        person_id = uuid.uuid4().hex
        with db:
            db.execute("BEGIN")
            db.execute("INSERT INTO people (id, created_at) VALUES (?, ?)", (person_id, _now()))
            db.execute(
                "INSERT INTO identities (channel, platform_id, person_id, display_name) "
                "VALUES (?, ?, ?, ?)",
                (channel, sender.platform_id, person_id, sender.display_name),
            )
        return person_id

    async def preferences(self, person_id: str) -> dict[str, str]:
        rows = self.db.execute(
            "SELECT key, value FROM preferences WHERE person_id = ? ORDER BY key", (person_id,)
        ).fetchall()
        return {k: v for k, v in rows}

    async def set_preference(self, person_id: str, key: str, value: str | None) -> None:
        if value is None:
            self.db.execute(
                "DELETE FROM preferences WHERE person_id = ? AND key = ?", (person_id, key)
            )
            return
        self.db.execute(
            "INSERT INTO preferences (person_id, key, value, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (person_id, key) DO UPDATE SET value = excluded.value, "
            "updated_at = excluded.updated_at",
            (person_id, key, value, _now()),
        )

    # -- pairing -------------------------------------------------------------------------

    async def pairing(self, bot: str, channel: str, sender: Sender) -> Pairing:
        query = (
            "SELECT channel, platform_id, display_name, code, approved FROM pairings "
            "WHERE bot = ? AND channel = ? AND platform_id = ?"
        )
        row = self.db.execute(query, (bot, channel, sender.platform_id)).fetchone()
        if row:
            return Pairing(row[0], row[1], row[2], row[3], bool(row[4]))
        code = new_pairing_code()
        self.db.execute(
            "INSERT INTO pairings (bot, channel, platform_id, display_name, code, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (bot, channel, sender.platform_id, sender.display_name, code, _now()),
        )
        return Pairing(channel, sender.platform_id, sender.display_name, code, False, new=True)

    async def approve(self, bot: str, code: str) -> Pairing | None:
        row = self.db.execute(
            "SELECT channel, platform_id, display_name, code FROM pairings "
            "WHERE bot = ? AND code = ? AND approved = 0",
            (bot, code.strip().upper()),
        ).fetchone()
        if not row:
            return None
        self.db.execute(
            "UPDATE pairings SET approved = 1 WHERE bot = ? AND code = ?", (bot, row[3])
        )
        return Pairing(row[0], row[1], row[2], row[3], True)

    # -- conversations -------------------------------------------------------------------

    async def conversation(self, key: ConversationKey) -> ConversationState:
        row = self.db.execute(
            "SELECT epoch, summary, summary_upto, summary_origin FROM conversations WHERE key = ?",
            (str(key),)).fetchone()
        if not row:
            return ConversationState()
        return ConversationState(row[0], row[1], row[2], Origin(row[3]))

    async def turn_count(self, key: ConversationKey) -> int:
        """Turns kept in the current epoch (a count: for /memory, not for every turn)."""
        row = self.db.execute(
            "SELECT count(*) FROM turns WHERE conversation = ? AND command = 0 AND epoch = "
            "coalesce((SELECT epoch FROM conversations WHERE key = ?), 0)",
            (str(key), str(key)),
        ).fetchone()
        return int(row[0])

    async def history(self, key: ConversationKey, after_seq: int, limit: int) -> list[Turn]:
        rows = self.db.execute(
            "SELECT seq, role, author, text, tokens, created_at, quoted, read_quoted, person_id, "
            "trace, origin FROM turns "
            "WHERE conversation = ? AND command = 0 AND epoch = "
            "  coalesce((SELECT epoch FROM conversations WHERE key = ?), 0) AND seq > ? "
            "ORDER BY seq DESC LIMIT ?",
            (str(key), str(key), after_seq, limit),
        ).fetchall()
        return [
            Turn(seq, role, author, text, tokens, datetime.fromisoformat(created),
                 quoted=quoted_from_json(quoted), read_quoted=bool(read), person_id=person,
                 trace=trace_from_json(trace), origin=Origin(origin))
            for seq, role, author, text, tokens, created, quoted, read, person, trace, origin
            in reversed(rows)
        ]

    async def transcript(self, key: ConversationKey, limit: int) -> list[Turn]:
        """The newest ``limit`` turns of the current epoch as the person saw them, commands
        and their answers included (for showing, never for a prompt)."""
        rows = self.db.execute(
            "SELECT seq, role, author, text, tokens, created_at, command, inbound_id, origin "
            "FROM turns WHERE conversation = ? AND epoch = "
            "  coalesce((SELECT epoch FROM conversations WHERE key = ?), 0) "
            "ORDER BY seq DESC LIMIT ?",
            (str(key), str(key), limit),
        ).fetchall()
        return [
            Turn(r[0], r[1], r[2], r[3], r[4], datetime.fromisoformat(r[5]), bool(r[6]),
                 r[7] or "", origin=Origin(r[8]))
            for r in reversed(rows)
        ]

    async def finish_turn(self, record: TurnRecord, *, fence: int | None) -> None:
        """One process: nothing to fence (``fence`` is None)."""
        inbound, key = record.inbound, str(record.inbound.conversation)
        now = _now()
        db = self.db
        with db:
            db.execute("BEGIN")
            db.execute(
                "INSERT INTO conversations (key, updated_at) VALUES (?, ?) "
                "ON CONFLICT (key) DO UPDATE SET updated_at = excluded.updated_at",
                (key, now),
            )
            epoch = db.execute(
                "SELECT epoch FROM conversations WHERE key = ?", (key,)
            ).fetchone()[0]
            quoted, read = quoted_to_json(inbound.quoted), int(bool(inbound.quoted))
            rows: list[tuple[str, str, str | None, str, int, str, str, str, str]] = []
            if record.user_text is not None:
                rows.append(("user", inbound.sender.display_name, record.person_id,
                             record.user_text, record.user_tokens, inbound.received_at.isoformat(),
                             quoted, "", user_origin(inbound).value))
            if record.reply_text is not None:
                rows.append(("assistant", "", None, record.reply_text, record.reply_tokens, now,
                             "", trace_to_json(record.trace),
                             reply_origin(inbound, record.trace).value))
            db.executemany(
                "INSERT INTO turns (conversation, epoch, role, author, person_id, inbound_id, "
                "text, tokens, created_at, command, quoted, read_quoted, trace, origin) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(key, epoch, r[0], r[1], r[2], inbound.id, r[3], r[4], r[5], record.command,
                  r[6], read, r[7], r[8])
                 for r in rows],
            )
            db.execute(
                "UPDATE inbox SET status = ?, reply = ?, reply_status = ?, answered_at = ? "
                "WHERE id = ?",
                (record.status.value, record.answer, record.answer_status,
                 now if record.answer else None, inbound.id),
            )

    async def set_summary(
        self, key: ConversationKey, epoch: int, summary: str, upto_seq: int, origin: Origin,
    ) -> None:
        self.db.execute(
            "UPDATE conversations SET summary = ?, summary_upto = ?, summary_origin = ? "
            "WHERE key = ? AND epoch = ? AND summary_upto < ?",
            (summary, upto_seq, origin.value, str(key), epoch, upto_seq),
        )

    async def reset(self, key: ConversationKey) -> None:
        self.db.execute(
            "INSERT INTO conversations (key, epoch, updated_at) VALUES (?, 1, ?) "
            "ON CONFLICT (key) DO UPDATE SET epoch = epoch + 1, summary = '', summary_upto = 0, "
            "summary_origin = 'kith'",
            (str(key), _now()),
        )

    async def forget(self, key: ConversationKey) -> int:
        db, k = self.db, str(key)
        with db:
            db.execute("BEGIN")
            deleted = db.execute(
                "DELETE FROM turns WHERE conversation = ? AND command = 0", (k,)).rowcount
            db.execute("DELETE FROM turns WHERE conversation = ?", (k,))
            db.execute("DELETE FROM inbox WHERE conversation = ? AND status NOT IN "
                       "('pending', 'answered', 'held')", (k,))
            db.execute(
                "UPDATE conversations SET summary = '', summary_upto = 0, summary_origin = 'kith' "
                "WHERE key = ?", (k,)
            )
        db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        return deleted
