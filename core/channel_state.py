"""Small durable values a channel keeps for itself: a sync token, a session, a spooled mail.

One process: files in the channel's state directory (``<data_dir>/<bot>/<channel>``), as
before. Replicas on PostgreSQL: rows in ``channel_state`` (``core/store/postgres``), so a
successor that takes a single-consumer channel over, or a replica that delivers a reply to a
mail another replica accepted, finds them. Keys are short relative names (``sync_token``,
``spool/<digest>.eml``).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Protocol

from core.logging import get_logger

log = get_logger("kith.channel_state")

_KEY = re.compile(r"^[A-Za-z0-9_.-]{1,100}(/[A-Za-z0-9_.-]{1,100})?$")


def check_key(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"bad channel state key {key!r}")
    return key


class ChannelState(Protocol):
    async def get(self, key: str) -> bytes | None: ...
    async def put(self, key: str, value: bytes) -> None: ...
    async def add(self, key: str, value: bytes) -> bool:
        """Store ``value`` unless ``key`` exists; True when it was stored."""
        ...
    async def delete(self, key: str) -> None: ...


class FileState:
    """:class:`ChannelState` in a private directory, one file per key (written atomically)."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def _path(self, key: str) -> Path:
        return self.directory / check_key(key)

    async def get(self, key: str) -> bytes | None:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except OSError:
            return None

    async def put(self, key: str, value: bytes) -> None:
        await asyncio.to_thread(write_private, self._path(key), value)

    async def add(self, key: str, value: bytes) -> bool:
        return await asyncio.to_thread(_write_new, self._path(key), value)

    async def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)


def write_private(path: Path, value: bytes) -> None:
    """Write a file only its owner can read, atomically (a temporary file, then a rename)."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(value)
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(tmp, path)


def _write_new(path: Path, value: bytes) -> bool:
    """Write a temporary file, then link it in place: all or nothing, never over a file."""
    if path.exists():
        return False
    tmp = path.with_name(f"{path.name}.{secrets.token_hex(6)}.new")
    write_private(tmp, value)
    try:
        os.link(tmp, path)
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)
    return True


class Once:
    """Things said once ever (a notice to a stranger's group, a hint to the owner): a key
    is first when ``add`` stores it, so of the replicas sharing the state only one says it.
    ``said`` are keys an older version recorded elsewhere (see :func:`legacy_list`).
    A key asked about once is not asked of the state again by this process."""

    def __init__(self, state: ChannelState, said: Iterable[str] = ()) -> None:
        self.state = state
        self.said = set(said)

    async def first(self, key: str) -> bool:
        """True for the one caller that records ``key``. A state that cannot be written
        means False (silence), never the same notice on every message."""
        if key in self.said:
            return False
        try:
            stored = await self.state.add(key, b"")
        except Exception as err:
            log.warning("once_state_write_failed", key=key, error=type(err).__name__)
            return False
        self.said.add(key)
        return stored


def legacy_list(path: Path) -> list[str | int]:
    """The JSON list an older version kept in one file (empty when absent or unreadable)."""
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return []
    return [x for x in data if isinstance(x, str | int)] if isinstance(data, list) else []
