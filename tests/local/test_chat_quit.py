"""Leaving ``kith chat`` never waits for background work; the work stays queued (durable)."""

from __future__ import annotations

import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

from tests.e2e.procs import KITH, kith_env
from tests.support import write_bot


@pytest.mark.timeout(900)
def test_leaving_kith_chat_does_not_wait_for_extraction(tmp_path: Path, smollm2: Path) -> None:
    write_bot(tmp_path / "bots")
    env = kith_env(tmp_path, KITH_LLM__LOCAL_MODEL=str(smollm2),
                   KITH_LLM__MAX_REPLY_TOKENS="16", KITH_MEMORY__LEARN="true",
                   KITH_MEMORY__EVERY_TURNS="1")
    proc = subprocess.Popen([*KITH, "chat"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True, env=env, cwd=tmp_path)
    assert proc.stdin is not None and proc.stdout is not None
    proc.stdin.write("I moved to Porto last month and I work night shifts as a nurse.\n")
    proc.stdin.flush()
    assert proc.stdout.readline().strip()  # the reply; extraction of the turn starts now
    time.sleep(1.0)
    started = time.monotonic()
    proc.stdin.close()
    proc.wait(timeout=600)
    left = time.monotonic() - started
    assert proc.returncode == 0, proc.stderr.read() if proc.stderr else ""
    # 2 s for a prompt being read, plus closing the store on a busy machine; extraction of
    # up to 1600 tokens would take far longer
    assert left < 10, f"kith chat took {left:.1f}s to leave"  # 2 s + starting Python up
    with sqlite3.connect(tmp_path / "data" / "kith.sqlite3") as db:
        [(pending,)] = db.execute("SELECT sum(pending) FROM memory_learning").fetchall()
    assert pending >= 1  # not extracted, still queued for the next start
