"""SQLite Store (stdlib sqlite3, WAL). The embedded default.

Statements are short and indexed, so they run on the event loop thread: a commit in WAL
mode with ``synchronous=NORMAL`` costs tens of microseconds, far less than a thread hop.
``synchronous=NORMAL`` survives a killed process; ``FULL`` also survives power loss.

The Store opens the connection, migrates it, and composes the features' roles on it: the
inbox, people and conversations (mixed in: ``core.inbox.sqlite``, ``core.people.sqlite``,
``core.conversations.sqlite``), the commit of a finished turn across two of them
(``sqlite_commit``), and the other feature packages' stores (memory, schedule, lists …).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from core.actions.sqlite import SQLiteActionStore
from core.calendar.links_store import SQLiteCalendarLinks
from core.conversations.sqlite import SQLiteConversations
from core.inbox.sqlite import SQLiteInbox
from core.lists.sqlite import SQLiteListStore
from core.logging import get_logger
from core.memory import terms
from core.memory.store import SQLiteMemoryStore
from core.offers.sqlite import SQLiteOfferStore
from core.people.sqlite import SQLitePeople
from core.schedule.sqlite import SQLiteScheduleStore
from core.store.features import PERSON_TABLES
from core.store.migrate import migrate_sqlite
from core.store.sqlite_commit import SQLiteTurnCommit

log = get_logger("kith.store")
CHECKPOINT_EVERY = 1.0  # seconds between background WAL checkpoints


def private_file(path: Path) -> None:
    """The database's directory 0700 (created so) and the file 0600, before any data."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


class SQLiteStore(SQLiteInbox, SQLitePeople, SQLiteConversations, SQLiteTurnCommit):
    def __init__(self, path: Path | str, synchronous: str = "NORMAL") -> None:
        self.path = Path(path)
        self._synchronous = synchronous
        self._checkpointer: asyncio.Task[None] | None = None
        self._memories = SQLiteMemoryStore(lambda: self.db, follow=PERSON_TABLES)
        self._schedule = SQLiteScheduleStore(lambda: self.db)
        self._lists = SQLiteListStore(lambda: self.db)
        self._actions = SQLiteActionStore(lambda: self.db)
        self._offers = SQLiteOfferStore(lambda: self.db)
        self._calendar_links = SQLiteCalendarLinks(lambda: self.db)

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
    def offers(self) -> SQLiteOfferStore:
        return self._offers

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
        migrate_sqlite(db)
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

    @asynccontextmanager
    async def atomically(self) -> AsyncIterator[SQLiteStore]:
        """This Store, in one ``BEGIN IMMEDIATE`` on its one connection: what its roles write
        meanwhile commits together, or not at all (an action's completion and its handler's
        rows). Used only for handlers that write Kith's own store without waiting on anything
        else (``Policy.atomic``), so no other coroutine's statement runs inside it."""
        db = self.db
        if db.in_transaction:
            raise RuntimeError("an action's transaction cannot nest in another")
        db.execute("BEGIN IMMEDIATE")
        try:
            yield self
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    async def healthy(self) -> bool:
        try:
            self.db.execute("SELECT 1").fetchone()
        except (sqlite3.Error, RuntimeError):
            return False
        return True
