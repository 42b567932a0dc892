"""One channel's outage stops no other: a Matrix homeserver that is down (refusing
connections) or silent (accepting and never answering) at start is retried in the
background; the gateway and the web chat serve, /readyz names the channel's state, and
``kith serve`` exits within 10 s of SIGTERM."""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import KITH, kith_env
from tests.support import free_port, write_bot

BOT = """\
[channels.web]
[channels.matrix]
homeserver = "http://127.0.0.1:{port}"
user_id = "@kith:localhost"
password_env = "MATRIX_OUTAGE_PASSWORD"
allowed_users = ["@owner:localhost"]
"""


@contextlib.contextmanager
def homeserver(kind: str) -> Iterator[int]:
    """A port where nothing listens, or a socket that takes connections and never answers."""
    if kind == "refusing":
        yield free_port()
        return
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        yield silent.getsockname()[1]


def wait_healthy(port: int, proc: subprocess.Popen[bytes], within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and proc.poll() is None:
        with contextlib.suppress(httpx.TransportError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return
        time.sleep(0.1)
    raise AssertionError(f"the gateway did not come up within {within}s "
                         f"(exit code {proc.poll()})")


@pytest.mark.parametrize("kind", ["refusing", "silent"])
def test_a_homeserver_down_at_start_blocks_nothing(tmp_path: Path, kind: str) -> None:
    port = free_port()
    with homeserver(kind) as hs_port:
        write_bot(tmp_path / "bots", toml=BOT.format(port=hs_port))
        env = kith_env(tmp_path, KITH_LLM__BASE_URLS="http://127.0.0.1:9/v1",
                       KITH_GATEWAY__PORT=str(port), MATRIX_OUTAGE_PASSWORD="pw-canary-7731")
        proc = subprocess.Popen([*KITH, "serve"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_healthy(port, proc, within=40)
            ready = httpx.get(f"http://127.0.0.1:{port}/readyz", timeout=10).json()
            channels = ready["channels"]
            assert channels["web/kith"] == "running"
            assert channels["matrix/kith"].split(":")[0] in ("starting", "retrying")
            page = httpx.get(f"http://127.0.0.1:{port}/chat/kith", timeout=10)
            assert page.status_code == 200
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            assert time.monotonic() - signalled < 10
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_sigterm_while_a_channel_is_starting_exits_within_10_seconds(tmp_path: Path) -> None:
    port = free_port()
    with homeserver("silent") as hs_port:
        write_bot(tmp_path / "bots", toml=BOT.format(port=hs_port))
        env = kith_env(tmp_path, KITH_LLM__BASE_URLS="http://127.0.0.1:9/v1",
                       KITH_GATEWAY__PORT=str(port), MATRIX_OUTAGE_PASSWORD="pw-canary-7731")
        proc = subprocess.Popen([*KITH, "serve"], env=env, cwd=tmp_path,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:  # the web chat is up, Matrix still trying to log in
                if b"channel_started" in line and b"web" in line:
                    break
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.communicate(timeout=30)
            assert time.monotonic() - signalled < 10
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def test_kith_check_names_a_channel_whose_platform_is_down(tmp_path: Path) -> None:
    from tests.e2e.procs import run_kith
    from tests.fakes.llm import FakeLLM, running_fake_llm_sync

    with homeserver("refusing") as hs_port, running_fake_llm_sync(FakeLLM()) as url:
        write_bot(tmp_path / "bots", toml=BOT.format(port=hs_port))
        done = run_kith(tmp_path, "check", KITH_LLM__BASE_URLS=url,
                        MATRIX_OUTAGE_PASSWORD="pw-canary-7731")
    assert done.returncode == 1, done.stdout + done.stderr
    assert (f"bot kith channel matrix: homeserver http://127.0.0.1:{hs_port}: unreachable"
            in done.stdout)
    assert "pw-canary-7731" not in done.stdout + done.stderr


def test_sigterm_while_a_turn_runs_exits_within_10_seconds(tmp_path: Path) -> None:
    from tests.fakes.llm import FakeLLM, running_fake_llm_sync

    port = free_port()
    write_bot(tmp_path / "bots")
    fake = FakeLLM(reply="late", ttft=600)  # the model never answers in time
    with running_fake_llm_sync(fake) as url:
        env = kith_env(tmp_path, KITH_LLM__BASE_URLS=url, KITH_GATEWAY__PORT=str(port),
                       KITH_LLM__TIMEOUT="600")
        proc = subprocess.Popen([*KITH, "serve"], env=env, cwd=tmp_path,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_healthy(port, proc, within=40)

            def post() -> None:
                with contextlib.suppress(httpx.HTTPError):
                    httpx.post(f"http://127.0.0.1:{port}/chat/kith/send", timeout=60,
                               json={"session": "sigterm-session", "text": "are you there?"})

            import threading
            threading.Thread(target=post, daemon=True).start()
            deadline = time.monotonic() + 30
            while not fake.chat_requests and time.monotonic() < deadline:
                time.sleep(0.05)
            assert fake.chat_requests, "the turn never reached the model"
            signalled = time.monotonic()
            proc.send_signal(signal.SIGTERM)
            proc.wait(timeout=30)
            assert time.monotonic() - signalled < 10
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
