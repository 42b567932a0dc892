"""Several real ``kith serve`` processes on one PostgreSQL database (the replicas of #14).

Each replica has its own data directory and port, as on separate machines; they share only
the database. ``kill`` is ``kill -9``; ``restart`` starts the same replica again.
"""

from __future__ import annotations

import asyncio
import os
import signal
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from tests.e2e.procs import KITH, kith_env
from tests.support import free_port


@dataclass
class Replica:
    index: int
    port: int
    data_dir: Path
    env: dict[str, str]
    proc: asyncio.subprocess.Process | None = None
    log: Path = field(default_factory=Path)
    ready: bool = False  # answered /healthz since it was last started

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def alive(self) -> bool:
        return self.proc is not None and self.proc.returncode is None


class Cluster:
    def __init__(self, tmp_path: Path, database_url: str, size: int, **env: str) -> None:
        self.tmp_path = tmp_path
        self.replicas: list[Replica] = []
        for i in range(size):
            port = free_port()
            data = tmp_path / f"replica{i}"
            self.replicas.append(Replica(i, port, data, kith_env(
                tmp_path, KITH_DATABASE_URL=database_url, KITH_GATEWAY__PORT=str(port),
                KITH_DATA_DIR=str(data), **env), log=tmp_path / f"replica{i}.log"))
        self.kills = 0

    async def start(self, replica: Replica, ready_within: float = 60.0) -> None:
        with replica.log.open("ab") as log:
            replica.proc = await asyncio.create_subprocess_exec(
                *KITH, "serve", env=replica.env, cwd=self.tmp_path,
                stdout=log, stderr=log)
        async with httpx.AsyncClient() as client:
            deadline = asyncio.get_running_loop().time() + ready_within
            while asyncio.get_running_loop().time() < deadline:
                if replica.proc.returncode is not None:
                    raise AssertionError(f"replica {replica.index} exited: "
                                         + replica.log.read_text()[-2000:])
                try:
                    if (await client.get(f"{replica.url}/healthz")).status_code == 200:
                        replica.ready = True
                        return
                except httpx.TransportError:
                    pass
                await asyncio.sleep(0.05)
        raise AssertionError(f"replica {replica.index} did not come up")

    async def start_all(self) -> None:
        for replica in self.replicas:  # one by one: their migrations would wait anyway
            await self.start(replica)

    async def kill(self, replica: Replica) -> None:
        assert replica.proc is not None
        replica.ready = False
        os.kill(replica.proc.pid, signal.SIGKILL)
        await asyncio.wait_for(replica.proc.wait(), 10)
        self.kills += 1

    async def stop_all(self) -> None:
        for replica in self.replicas:
            if replica.alive:
                assert replica.proc is not None
                replica.proc.send_signal(signal.SIGTERM)
        for replica in self.replicas:
            if replica.proc is not None and replica.proc.returncode is None:
                try:
                    await asyncio.wait_for(replica.proc.wait(), 30)
                except TimeoutError:
                    replica.proc.kill()
                    await replica.proc.wait()

    def live(self) -> list[Replica]:
        """The replicas that are up (started and answering)."""
        return [r for r in self.replicas if r.alive and r.ready]
