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


class Terminal:
    """The reading end of a pty. Output past what one wait asked for is kept for the next
    wait: a reply and the prompt after it often arrive in one read."""

    def __init__(self, fd: int, proc: subprocess.Popen[bytes]) -> None:
        self.fd, self.proc, self.pending = fd, proc, b""

    def until(self, needle: bytes, timeout: float = 60) -> bytes:
        deadline = time.monotonic() + timeout
        while needle not in self.pending and time.monotonic() < deadline:
            ready, _, _ = select.select([self.fd], [], [], 0.2)
            if ready:
                try:
                    self.pending += os.read(self.fd, 4096)
                except OSError:
                    break
        assert needle in self.pending, (self.pending[-500:],
                                        f"kith chat exit code: {self.proc.poll()}")
        end = self.pending.index(needle) + len(needle)
        seen, self.pending = self.pending[:end], self.pending[end:]
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
        term = Terminal(main, proc)
        try:
            term.until(b"> ")
            os.write(main, b"first question\r")
            shown = term.until(b"advice")
            term.until(b"> ")
            os.write(main, b"\x1b[A\r")  # up arrow: the previous line, then Enter
            term.until(b"advice")
            term.until(b"> ")
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
