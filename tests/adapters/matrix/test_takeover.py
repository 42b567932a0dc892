"""Matrix across replicas (issue 14): one replica syncs; when its lead is lost another takes
the same device over — session, sync token and key store from PostgreSQL — and answers the
next encrypted message, with nothing replayed and nothing lost. Two replicas, each with its own
data directory (as on two machines), one PostgreSQL store."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import psycopg

from adapters.matrix.channel import MatrixChannel
from bots.runtime import Kith
from core.store.postgres.leader import leader_key
from tests.adapters.matrix.kit import PASSWORD, PASSWORD_ENV, bot_toml, echo, human, unique
from tests.adapters.matrix.synapse import Synapse
from tests.adapters.matrix.test_synapse import _answer, _asked
from tests.fakes.llm import FakeLLM
from tests.support import fleet_for, make_settings, write_bot


@asynccontextmanager
async def replica(tmp: Path, name: str, llm_url: str, toml: str,
                  pg_url: str) -> AsyncIterator[Kith]:
    os.environ[PASSWORD_ENV] = PASSWORD
    settings = make_settings(tmp / name, llm_url, bots_dir=tmp / "bots", database_url=pg_url)
    write_bot(settings.bots_dir, toml=toml)
    kith = Kith(settings, fleet_for(settings))  # the PostgreSQL store, leases, leadership
    await kith.start()
    try:
        yield kith
    finally:
        await kith.stop()


def _matrix(kith: Kith) -> MatrixChannel:
    channel = kith.channels[("kith", "matrix")]
    assert isinstance(channel, MatrixChannel)
    return channel


async def _leading(channel: MatrixChannel, within: float = 30.0) -> None:
    deadline = time.monotonic() + within
    while not (channel.leading and channel.batches > 0):
        assert time.monotonic() < deadline, "never led"
        await asyncio.sleep(0.05)


async def _terminate_leader(pg_url: str, name: str) -> None:
    """What a crash of the leading replica does to its database session."""
    async with await psycopg.AsyncConnection.connect(pg_url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND ((classid::bigint << 32) | objid::bigint) = %s", (leader_key(name),))
        for (pid,) in await cur.fetchall():
            await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))


async def test_a_successor_takes_the_device_over(
    synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str], pg_url: str
) -> None:
    fake, url = fake_llm
    fake.reply = echo
    bot_id = synapse.register(unique("bot"), PASSWORD)
    async with human(synapse, tmp_path, unique("alice")) as alice:
        toml = bot_toml(synapse, bot_id, [alice.user_id])
        async with replica(tmp_path, "a", url, toml, pg_url) as a:
            first = _matrix(a)
            await _leading(first)
            async with replica(tmp_path, "b", url, toml, pg_url) as b:
                second = _matrix(b)
                await asyncio.sleep(1.0)
                assert not second.leading and second.batches == 0  # one consumer
                room_id = await alice.create_room([bot_id], encrypted=True, direct=True)
                await alice.wait_joined(room_id, bot_id)
                await alice.say(room_id, "one")
                await _answer(alice, room_id, bot_id, "You said: one")
                device = first.client.device_id

                lost_at = time.monotonic()
                await _terminate_leader(pg_url, "matrix/kith")
                await _leading(second)
                took = time.monotonic() - lost_at
                assert not first.leading, "the old leader stopped syncing"
                assert second.client.device_id == device, "the same device took over"
                assert took < 10, took
                print(f"matrix takeover: {took:.2f} s")

                await alice.say(room_id, "two")  # encrypted with alice's current session
                await _answer(alice, room_id, bot_id, "You said: two")
                mine = alice.from_user(room_id, bot_id)
                assert all(s.decrypted for s in mine), "the successor sent encrypted"
                assert _asked(fake) == ["one", "two"], "nothing replayed, nothing lost"
