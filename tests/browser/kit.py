"""A real Chromium and a real ``kith serve`` for the browser tests.

Chromium (Debian's ``chromium`` package) runs headless with a fresh profile and no network
of its own: every name but ``kith.test`` (mapped to 127.0.0.1) fails to resolve. Playwright
drives it over the DevTools protocol (``connect_over_cdp``); Playwright's own browser
downloads are never used.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.e2e.procs import KITH, kith_env

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-default-apps", "--disable-extensions", "--mute-audio",
    # a tab the test is not looking at must keep its timers (the page polls after a drop)
    "--disable-background-timer-throttling", "--disable-renderer-backgrounding",
    "--disable-backgrounding-occluded-windows",
    "--host-resolver-rules=MAP kith.test 127.0.0.1, MAP * ~NOTFOUND, EXCLUDE localhost, "
    "EXCLUDE 127.0.0.1",
]


def chromium_binary() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if not found:
        raise RuntimeError("Chromium is missing: apt-get install chromium chromium-driver")
    return found


@contextmanager
def running_chromium() -> Iterator[str]:
    """Start headless Chromium; yields its DevTools endpoint (http://127.0.0.1:PORT)."""
    profile = Path(tempfile.mkdtemp(prefix="kith-chromium-"))
    proc = subprocess.Popen(
        [chromium_binary(), *CHROMIUM_FLAGS, f"--user-data-dir={profile}",
         "--remote-debugging-port=0", "--remote-debugging-address=127.0.0.1", "about:blank"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + 120
        while not (port_file.exists() and port_file.read_text().strip()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("Chromium did not start")
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port_file.read_text().split()[0]}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(profile, ignore_errors=True)


def their_message(body: dict[str, Any]) -> str:
    return str(body["messages"][-1]["content"]).rsplit("[Their message]\n", 1)[-1]


@dataclass
class Brain:
    """The fake model's script. Chat: the first trigger found in the person's message picks
    the reply; a message no trigger expects is recorded in ``unexpected`` (tests assert it
    stays empty). Extraction (``response_format``, one call per batch of messages): each
    message holding a trigger yields that trigger's memories, attributed to the message."""

    chat: dict[str, str] = field(default_factory=dict)
    learn: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    unexpected: list[str] = field(default_factory=list)

    def __call__(self, body: dict[str, Any]) -> str:
        if "response_format" in body:  # one call covers every message since the last one
            said = str(body["messages"][1]["content"]).split("<messages>", 1)[-1]
            found = [{**memory, "message": number}
                     for number, line in enumerate(said.strip().splitlines()[:-1], start=1)
                     for trigger, memories in self.learn.items() if trigger in line
                     for memory in memories]
            return json.dumps({"memories": found})
        message = their_message(body)
        for trigger, reply in self.chat.items():
            if trigger in message:
                return reply
        self.unexpected.append(message)
        return "UNEXPECTED"


def fact(text: str, scope: str = "private", kind: str = "fact") -> dict[str, Any]:
    return {"decision": "new", "text": text, "kind": kind, "confidence": 0.9, "scope": scope}


@dataclass
class Served:
    port: int
    data_dir: Path
    proc: subprocess.Popen[bytes]

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def db_bytes(self) -> bytes:
        path = self.data_dir / "kith.sqlite3"
        wal = path.with_name(path.name + "-wal")
        return path.read_bytes() + (wal.read_bytes() if wal.exists() else b"")


@contextmanager
def serving(root: Path, llm_url: str, port: int, **env: str) -> Iterator[Served]:
    """``kith serve`` as a subprocess, with the defaults a user gets (memory learning on)."""
    settings = kith_env(root, KITH_LLM__BASE_URLS=llm_url, KITH_GATEWAY__PORT=str(port),
                        KITH_LLM__TIMEOUT="60", KITH_MEMORY__LEARN="true",
                        KITH_MEMORY__QUIET_SECONDS="0.5",
                        KITH_LLM__MODEL="llama-test",
                        KITH_GATEWAY__ALLOWED_HOSTS="kith.test",  # the name the tests browse
                        **env)
    log = (root / "serve.log").open("ab")
    proc = subprocess.Popen([*KITH, "serve"], env=settings, cwd=root, stdout=log, stderr=log)
    try:
        wait_for(lambda: _healthy(port), 120, "kith serve did not come up")
        yield Served(port, root / "data", proc)
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        log.close()


def kill_9(served: Served) -> None:
    os.kill(served.proc.pid, signal.SIGKILL)
    served.proc.wait(timeout=10)


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except httpx.TransportError:
        return False


def wait_for(check: Callable[[], object], timeout: float, message: str) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(message)
        time.sleep(0.05)
