"""Start the fake LLM and ``kith serve`` as real processes for end-to-end benchmarks."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[1]


def serve_repo() -> Path:
    """The tree ``kith serve`` runs from: this one, or ``KITH_BENCH_SERVE_REPO`` (another
    checkout, e.g. a worktree of the base commit), so two versions of Kith are measured side
    by side under the same load generator and fakes (``python -m bench.ab``)."""
    other = os.environ.get("KITH_BENCH_SERVE_REPO")
    return Path(other).resolve() if other else REPO


@contextmanager
def fake_llm(ttft: float = 0.0, itl: float = 0.0, reply: str = "") -> Iterator[str]:
    args = [sys.executable, "-m", "tests.fakes.llm", "--port", "0",
            "--ttft", str(ttft), "--itl", str(itl)]
    if reply:
        args += ["--reply", reply]
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, cwd=REPO)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        if not line.startswith("READY "):
            raise RuntimeError(f"fake LLM did not start: {line!r}")
        yield line.split(" ", 1)[1]
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def kith_serve(llm_url: str, bot_toml: str = "[channels.web]\n", **env: str) -> Iterator[
        tuple[str, subprocess.Popen[bytes], Path]]:
    with tempfile.TemporaryDirectory(prefix="kith-bench-") as tmp:
        root = Path(tmp)
        (root / "bots" / "kith").mkdir(parents=True)
        (root / "bots" / "kith" / "bot.toml").write_text(bot_toml)
        (root / "bots" / "kith" / "persona.md").write_text("You are Kith, a benchmark bot.")
        port = free_port()
        full_env = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
        full_env.update({
            "KITH_BOTS_DIR": str(root / "bots"), "KITH_DATA_DIR": str(root / "data"),
            "KITH_LLM__BASE_URLS": llm_url, "KITH_LLM__MODEL": "llama-test",
            "KITH_GATEWAY__PORT": str(port), "KITH_LOG_LEVEL": "WARNING",
            "KITH_CONCURRENCY": "2000", "KITH_MEMORY__LEARN": "false",
            # every load generator connects from 127.0.0.1: the per-client cap (64) would
            # close the connections of the runs with 100 and 1000 conversations
            "KITH_GATEWAY__MAX_CONNECTIONS_PER_CLIENT": "4000",
            "KITH_GATEWAY__MAX_CONNECTIONS": "4000",
            "PYTHONPATH": str(serve_repo()), **env,
        })
        # KITH_BENCH_SERVER_LOG=FILE keeps the servers' logs (default: dropped)
        log_path = os.environ.get("KITH_BENCH_SERVER_LOG")
        log = open(log_path, "ab") if log_path else subprocess.DEVNULL  # noqa: SIM115
        proc = subprocess.Popen([sys.executable, "-m", "bots.cli", "serve"], env=full_env,
                                cwd=root, stderr=log)
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120  # a busy shared box starts slowly
            while True:
                try:
                    if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("kith serve did not start")
                time.sleep(0.05)
            yield base, proc, root
        finally:
            proc.terminate()
            proc.wait(timeout=30)
