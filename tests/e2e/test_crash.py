from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from tests.e2e.procs import KITH, kith_env
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot

SESSION = "crash-session-1"


@contextmanager
def serving(tmp_path: Path, url: str, port: int) -> Iterator[subprocess.Popen[bytes]]:
    env = kith_env(tmp_path, KITH_LLM__BASE_URLS=url, KITH_GATEWAY__PORT=str(port),
                   KITH_LLM__TIMEOUT="60")
    proc = subprocess.Popen([*KITH, "serve"], env=env, cwd=tmp_path,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.05)
        else:
            raise AssertionError("kith serve did not come up")
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=20)


def history(port: int) -> list[tuple[str, str]]:
    turns = httpx.get(f"http://127.0.0.1:{port}/chat/kith/history",
                      params={"session": SESSION}, timeout=5).json()
    return [(t["role"], t["text"]) for t in turns]


def test_kill_9_mid_turn_is_answered_once_after_restart(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    fake = FakeLLM(reply="Your answer, at last.", ttft=600)  # the first call never finishes
    port = free_port()
    with running_fake_llm_sync(fake) as url:
        with serving(tmp_path, url, port) as proc:
            def post() -> None:
                # the server dies under us; that is the point
                with contextlib.suppress(httpx.TransportError):
                    httpx.post(f"http://127.0.0.1:{port}/chat/kith/send", timeout=30,
                               json={"session": SESSION, "text": "are you there?"})

            sender = threading.Thread(target=post, daemon=True)
            sender.start()
            deadline = time.monotonic() + 20
            while not fake.chat_requests and time.monotonic() < deadline:
                time.sleep(0.02)
            assert fake.chat_requests, "the turn never reached the model"
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(timeout=10)
            sender.join(timeout=10)
        fake.ttft = 0.0
        with serving(tmp_path, url, port):
            deadline = time.monotonic() + 20
            while len(history(port)) < 2 and time.monotonic() < deadline:
                time.sleep(0.05)
            assert history(port) == [("user", "are you there?"),
                                     ("assistant", "Your answer, at last.")]
        with serving(tmp_path, url, port):  # a third start answers nothing again
            time.sleep(0.5)
            assert len(history(port)) == 2
    assert len(fake.chat_requests) == 2  # the killed attempt and exactly one answer
