"""``kith chat`` in a real terminal (a pty): readline history and Markdown rendering."""

from __future__ import annotations

import os
import pty
import select
import subprocess
import time
from pathlib import Path

from tests.e2e.procs import KITH, kith_env
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import write_bot


def read_until(fd: int, needle: bytes, timeout: float = 60,
               proc: subprocess.Popen[bytes] | None = None) -> bytes:
    seen = b""
    deadline = time.monotonic() + timeout
    while needle not in seen and time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                seen += os.read(fd, 4096)
            except OSError:
                break
    exited = proc.poll() if proc is not None else None
    assert needle in seen, (seen[-500:], f"kith chat exit code: {exited}")
    return seen


def test_terminal_chat_recalls_history_and_renders_markdown(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    fake = FakeLLM(reply="Here is **bold** advice.")
    with running_fake_llm_sync(fake) as url:
        main, child = pty.openpty()
        env = kith_env(tmp_path, KITH_LLM__BASE_URLS=url, TERM="xterm-256color",
                       COLUMNS="80", LINES="24")
        proc = subprocess.Popen([*KITH, "chat"], stdin=child, stdout=child, stderr=child,
                                env=env, cwd=tmp_path, close_fds=True)
        os.close(child)
        try:
            read_until(main, b"> ", proc=proc)
            os.write(main, b"first question\r")
            shown = read_until(main, b"advice")
            read_until(main, b"> ")
            os.write(main, b"\x1b[A\r")  # up arrow: the previous line, then Enter
            read_until(main, b"> ")
            deadline = time.monotonic() + 30
            while len(fake.chat_requests) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            os.write(main, b"\x04")  # Ctrl-D leaves
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
            os.close(main)
    asked = [r["messages"][-1]["content"] for r in fake.chat_requests]
    assert len(asked) == 2 and all(a.endswith("first question") for a in asked)
    assert b"**bold**" not in shown and b"\x1b[1m" in shown  # rendered, not raw Markdown
    # kept for the next session (readline skips a repeat of the line before)
    assert (tmp_path / "data" / "chat_history").read_text().splitlines() == ["first question"]
