"""What a Matrix leader leaves its successor: the session, the sync token, the device keys.

All of it lives in the channel's state (:attr:`ChannelContext.state`): files in the state
dir with one process, rows in PostgreSQL with replicas, so whichever replica leads next logs
in as the *same device* and syncs on from the last token.

* ``session.json``: user id, device id and access token (one device for every replica).
* ``sync_token``: saved after each batch is recorded, so a successor neither replays nor
  loses messages.
* ``nio.db`` (replicas only): a consistent copy of nio's SQLite key store (the device's
  Olm account, Olm and inbound Megolm sessions, known devices and trust), taken after each
  batch in which it changed and *before* that batch's token is saved; a new leader writes it
  back before nio opens it. With one process nio's own file in ``<state>/nio`` is the store.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from pathlib import Path
from typing import Any

from core.channel_state import ChannelState, write_private

SESSION, TOKEN, KEYS = "session.json", "sync_token", "nio.db"


def snapshot(path: Path) -> bytes:
    """A consistent copy of a SQLite database (the online backup API)."""
    source = sqlite3.connect(path)
    copy = sqlite3.connect(":memory:")
    try:
        source.backup(copy)
        return copy.serialize()
    finally:
        copy.close()
        source.close()


def write_back(path: Path, data: bytes) -> None:
    """Put a snapshot in place of the local database file (atomically)."""
    for stale in (path.with_name(path.name + "-journal"), path.with_name(path.name + "-wal"),
                  path.with_name(path.name + "-shm")):
        stale.unlink(missing_ok=True)
    write_private(path, data)


class Handoff:
    def __init__(self, state: ChannelState, store_dir: Path, replicated: bool) -> None:
        self.state = state
        self.store_dir = store_dir
        self.replicated = replicated
        self._seen: tuple[int, int] | None = None  # (mtime_ns, size) of the last snapshot

    async def session(self) -> dict[str, Any]:
        raw = await self.state.get(SESSION)
        try:
            data = json.loads(raw) if raw else {}
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    async def save_session(self, user_id: str, device_id: str, token: str) -> None:
        await self.state.put(SESSION, json.dumps(
            {"user_id": user_id, "device_id": device_id, "access_token": token}).encode())

    async def token(self) -> str | None:
        raw = await self.state.get(TOKEN)
        return (raw.decode().strip() or None) if raw else None

    async def save_token(self, token: str) -> None:
        await self.state.put(TOKEN, token.encode())

    def _db(self, user_id: str, device_id: str) -> Path:
        return self.store_dir / f"{user_id}_{device_id}.db"  # nio's own naming

    async def restore_keys(self, user_id: str, device_id: str) -> None:
        """Before nio opens its store: the last leader's key store, if any (replicas)."""
        if not self.replicated:
            return
        data = await self.state.get(KEYS)
        if data is None:
            return
        path = self._db(user_id, device_id)
        await asyncio.to_thread(write_back, path, data)
        stat = path.stat()
        self._seen = (stat.st_mtime_ns, stat.st_size)

    async def save_keys(self, user_id: str, device_id: str) -> None:
        """After a batch: the key store, when it changed since the last copy (replicas)."""
        if not self.replicated:
            return
        path = self._db(user_id, device_id)
        try:
            stat = path.stat()
        except OSError:
            return
        if (stat.st_mtime_ns, stat.st_size) == self._seen:
            return
        await self.state.put(KEYS, await asyncio.to_thread(snapshot, path))
        self._seen = (stat.st_mtime_ns, stat.st_size)
