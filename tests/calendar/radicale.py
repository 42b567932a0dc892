"""A real CalDAV server for the tests: Radicale (PyPI ``radicale``) on loopback.

One server per test session in a private folder, with plain htpasswd users; its request
log (INFO) lets a test count the CalDAV requests Kith made.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import caldav
import pytest


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Radicale:
    url: str
    root: Path
    users: Path
    log: Path

    def user(self) -> tuple[str, str]:
        """A new user with a password of its own (Radicale reads the file per request)."""
        name, password = f"u{uuid.uuid4().hex[:10]}", uuid.uuid4().hex
        with self.users.open("a") as out:
            out.write(f"{name}:{password}\n")
        return name, password

    def calendar(self, user: str, password: str, name: str = "Personal") -> caldav.Calendar:
        """Another CalDAV client's view: make (or open) one of the user's calendars."""
        client = caldav.DAVClient(url=self.url, username=user, password=password)
        principal = client.principal()
        for cal in principal.calendars():
            if cal.get_display_name() == name:
                return cal
        return principal.make_calendar(name=name, cal_id=uuid.uuid4().hex[:8])

    def requests(self, user: str) -> int:
        """CalDAV requests Radicale logged for ``user`` so far."""
        text = self.log.read_text(errors="replace")
        return sum(1 for line in text.splitlines()
                   if "request for" in line and f"/{user}/" in line)


def _wait(port: int, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"radicale exited: {log.read_text(errors='replace')[-2000:]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("radicale did not start within 60 s")


@pytest.fixture(scope="session")
def radicale() -> Iterator[Radicale]:
    with running_radicale() as server:
        yield server


@contextmanager
def running_radicale() -> Iterator[Radicale]:
    root = Path(tempfile.mkdtemp(prefix="kithcal-"))
    port = _free_port()
    users = root / "users"
    users.write_text("")
    config = root / "config"
    config.write_text(
        f"[server]\nhosts = 127.0.0.1:{port}\n"
        f"[auth]\ntype = htpasswd\nhtpasswd_filename = {users}\nhtpasswd_encryption = plain\n"
        "delay = 0\n"
        f"[storage]\nfilesystem_folder = {root / 'store'}\n"
        "[logging]\nlevel = info\n"
    )
    log = root / "log"
    with log.open("wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", "radicale", "--config", str(config)],
                                stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait(port, proc, log)
        yield Radicale(f"http://127.0.0.1:{port}/", root, users, log)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        shutil.rmtree(root, ignore_errors=True)
