"""Channel state: the same behaviour in files (one process) and in PostgreSQL (replicas)."""

from __future__ import annotations

import asyncio
import stat
from collections.abc import AsyncIterator
from pathlib import Path

import psycopg
import pytest
from psycopg_pool import AsyncConnectionPool

from core.channel_state import ChannelState, FileState, Once, legacy_list
from core.store.postgres.channel_state import PostgresChannelState
from core.store.postgres.migrations import migrate
from core.store.postgres.schema_leader import MIGRATIONS as LEADER


@pytest.fixture(params=["files", "postgres"])
async def states(request: pytest.FixtureRequest,
                 tmp_path: Path) -> AsyncIterator[tuple[ChannelState, ChannelState]]:
    """Two channels' states (the second must not see the first's values)."""
    if request.param == "files":
        yield FileState(tmp_path / "a"), FileState(tmp_path / "b")
        return
    url = request.getfixturevalue("pg_url")
    async with await psycopg.AsyncConnection.connect(url) as conn:
        await migrate(conn, LEADER)
    pool = AsyncConnectionPool(url, min_size=1, max_size=2, open=False,
                               kwargs={"autocommit": True})
    await pool.open()
    yield PostgresChannelState(pool, "matrix/a"), PostgresChannelState(pool, "matrix/b")
    await pool.close()


async def test_put_get_delete(states: tuple[ChannelState, ChannelState]) -> None:
    a, b = states
    assert await a.get("sync_token") is None
    await a.put("sync_token", b"s1")
    await a.put("sync_token", b"s2")
    assert await a.get("sync_token") == b"s2"
    assert await b.get("sync_token") is None  # scoped per channel
    await a.delete("sync_token")
    await a.delete("sync_token")  # deleting what is gone is fine
    assert await a.get("sync_token") is None


async def test_add_only_once(states: tuple[ChannelState, ChannelState]) -> None:
    a, _ = states
    blob = bytes(range(256)) * 1000
    assert await a.add("spool/abc.eml", blob)
    assert not await a.add("spool/abc.eml", b"other")
    assert await a.get("spool/abc.eml") == blob


@pytest.mark.parametrize("key", ["../x", "a/../../b", "/abs", "", "a b", "a/b/c", "x" * 101])
async def test_bad_keys_are_refused(states: tuple[ChannelState, ChannelState],
                                    key: str) -> None:
    a, _ = states
    with pytest.raises(ValueError):
        await a.put(key, b"no")


async def test_files_are_private_and_where_they_were(tmp_path: Path) -> None:
    state = FileState(tmp_path)
    await state.put("session.json", b"{}")
    assert await state.add("spool/1.eml", b"mail")
    for path in (tmp_path / "session.json", tmp_path / "spool" / "1.eml"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
    names = sorted(p.name for p in tmp_path.rglob("*"))  # noqa: ASYNC240
    assert names == ["1.eml", "session.json", "spool"]


async def test_once_is_first_for_one_caller_of_many_sharing_the_state(
        states: tuple[ChannelState, ChannelState], tmp_path: Path) -> None:
    """Replicas sharing a state (here: several Once over it at once) say a thing once."""
    a, b = states
    legacy = tmp_path / "told.json"
    legacy.write_text('["bot.speech", 7, {"x": 1}]', "utf-8")
    replicas = [Once(a, (str(k) for k in legacy_list(legacy))) for _ in range(4)]
    firsts = await asyncio.gather(*(once.first("bot.vision") for once in replicas * 3))
    assert firsts.count(True) == 1
    assert not await replicas[0].first("bot.speech")  # an older version said it already
    assert not await replicas[1].first("7")
    assert await Once(b).first("bot.vision")  # another channel's notice is its own
    assert legacy_list(tmp_path / "missing.json") == []


async def test_once_whose_state_cannot_be_written_stays_silent(tmp_path: Path) -> None:
    blocked = tmp_path / "not-a-dir"
    blocked.write_text("a file where the state's directory should be", "utf-8")
    once = Once(FileState(blocked))
    assert not await once.first("bot.speech")  # no notice it cannot remember having said
    assert not await once.first("bot.speech")
