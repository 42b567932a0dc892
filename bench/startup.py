"""How long ``kith serve`` takes from its start until it answers ``/healthz``.

    python -m bench.startup [--runs N] [--against OTHER_CHECKOUT]

Starts ``kith serve`` (one bot, the web page only, SQLite, no model reachable: start does
not wait for one) N times and polls ``/healthz`` every 5 ms from the moment the process is
spawned; prints each time and the median. A replica's restart time is its outage. With
``--against``, runs of this checkout and the other one alternate (side by side, under the
same load). Byte code is cached as in a user's install (``PYTHONDONTWRITEBYTECODE`` is not
passed on). For the breakdown of where the time goes: ``python -X importtime -m bots.cli
--help``.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil

from bench.common import machine
from bench.harness import REPO, free_port


def _healthy(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
            return conn.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def once(root: Path, repo: Path = REPO) -> tuple[float, float]:
    """(wall seconds, the server's CPU seconds) from spawn to its first ``/healthz``."""
    port = free_port()
    # as a user's install runs it: byte code is cached (the warm-up run writes it)
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("KITH_") and k != "PYTHONDONTWRITEBYTECODE"}
    env.update({
        "KITH_BOTS_DIR": str(root / "bots"), "KITH_DATA_DIR": str(root / "data"),
        "KITH_LLM__BASE_URLS": f"http://127.0.0.1:{free_port()}/v1",
        "KITH_LLM__MODEL": "llama-test", "KITH_GATEWAY__PORT": str(port),
        "KITH_LOG_LEVEL": "WARNING", "PYTHONPATH": str(repo),
    })
    started = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "bots.cli", "serve"], env=env, cwd=root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not _healthy(port):
            if proc.poll() is not None:
                raise RuntimeError("kith serve exited before answering /healthz")
            if time.perf_counter() - started > 60:
                raise RuntimeError("kith serve did not answer /healthz within 60 s")
            time.sleep(0.005)
        wall = time.perf_counter() - started
        cpu = psutil.Process(proc.pid).cpu_times()
        return wall, cpu.user + cpu.system
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--against", type=Path, help="another checkout, run alternately")
    args = parser.parse_args()
    print("machine:", machine())
    print("load average:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    repos = [REPO] if args.against is None else [REPO, args.against.resolve()]
    times: dict[Path, list[float]] = {repo: [] for repo in repos}
    cpus: dict[Path, list[float]] = {repo: [] for repo in repos}
    with tempfile.TemporaryDirectory(prefix="kith-startup-") as tmp:
        root = Path(tmp)
        (root / "bots" / "kith").mkdir(parents=True)
        (root / "bots" / "kith" / "bot.toml").write_text("[channels.web]\n")
        (root / "bots" / "kith" / "persona.md").write_text("You are Kith.")
        for repo in repos:
            once(root, repo)  # warm-up: the data directory is created, byte code is compiled
        for n in range(args.runs):
            for repo in repos if n % 2 == 0 else repos[::-1]:
                wall, cpu = once(root, repo)
                times[repo].append(wall)
                cpus[repo].append(cpu)
    print("load average after:", " ".join(f"{x:.2f}" for x in os.getloadavg()))
    for repo in repos:
        print(f"{repo}:")
        print("  start → /healthz s:", " ".join(f"{t:.3f}" for t in times[repo]))
        print("  its CPU s:         ", " ".join(f"{t:.3f}" for t in cpus[repo]))
        print(f"  median {statistics.median(times[repo]):.3f} s (best {min(times[repo]):.3f} s), "
              f"CPU median {statistics.median(cpus[repo]):.3f} s ({args.runs} runs)")


if __name__ == "__main__":
    main()
