"""The worker processes that read mail end with ``kith serve``, however it ends."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path

import psutil
import pytest

from tests.e2e.procs import KITH, kith_env
from tests.e2e.test_channel_outage import wait_healthy
from tests.support import free_port, write_bot

BOT = """\
[channels.web]
[channels.email]
owners = ["owner@example.com"]
address = "kith@kith.example"
[channels.email.listen]
port = 0
[channels.email.outbound]
host = "127.0.0.1"
port = {relay}
security = "none"
"""


@pytest.mark.parametrize("how", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_no_child_process_outlives_kith_serve(tmp_path: Path, how: signal.Signals) -> None:
    port = free_port()
    write_bot(tmp_path / "bots", toml=BOT.format(relay=free_port()))
    env = kith_env(tmp_path, KITH_LLM__BASE_URLS="http://127.0.0.1:9/v1",
                   KITH_GATEWAY__PORT=str(port))
    proc = subprocess.Popen([*KITH, "serve"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_healthy(port, proc, within=40)
        parent = psutil.Process(proc.pid)
        deadline = time.monotonic() + 30
        children: list[psutil.Process] = []
        while time.monotonic() < deadline:  # the mail reader is warmed up at start
            children = parent.children(recursive=True)
            if any("multiprocessing" in " ".join(c.cmdline()) for c in children):
                break
            time.sleep(0.2)
        assert children, "no mail worker was started"
        proc.send_signal(how)
        proc.wait(timeout=30)
        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, [" ".join(p.cmdline())[:120] for p in alive]
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
