"""The README's run command, step by step, in a fresh venv, from a directory that is not the
repository: install ``kith[local]``, ``kith serve`` prints where to chat and which model
answers, the web chat streams a reply from the embedded model, ``kith chat`` answers too.

Offline: the venv sees this machine's site-packages (``--system-site-packages``), so pip
finds llama-cpp-python and every other dependency already built and never downloads.
"""

from __future__ import annotations

import os
import re
import select
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.procs import REPO
from tests.support import free_port

pytestmark = pytest.mark.timeout(600)  # builds and installs Kith into a fresh venv first
README = (REPO / "README.md").read_text(encoding="utf-8")
RUN = re.search(r"# Run Kith, from this folder.*?\n(.*?)\n\n", README, re.S)


@pytest.fixture(scope="module")
def venv(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    assert RUN is not None, "the README lost its run command"
    steps = RUN.group(1)
    assert "python3 -m venv .venv" in steps and '[ -n "$VIRTUAL_ENV" ]' in steps
    assert "pip install '.[local]' && kith serve" in steps
    root = tmp_path_factory.mktemp("venv")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(root)],
                   check=True, timeout=120)
    # README: `pip install '.[local]'` from the checkout; offline flags for the test only
    subprocess.run([str(root / "bin" / "pip"), "install", "-q", "--no-index",
                    "--no-build-isolation", ".[local]"], cwd=REPO, check=True, timeout=300,
                   env=_clean_env(root.parent))
    yield root


def _clean_env(home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("KITH_", "PYTHON", "VIRTUAL_ENV", "XDG_"))}
    env.update({"HOME": str(home), "PIP_DISABLE_PIP_VERSION_CHECK": "1",
                "HF_ENDPOINT": "http://127.0.0.1:9", **extra})
    return env


def _kith_env(home: Path, smollm2: Path, port: int) -> dict[str, str]:
    return _clean_env(home, KITH_GATEWAY__PORT=str(port),
                      KITH_LLM__LOCAL_SERVERS="",  # other people's servers run on this box
                      KITH_LLM__LOCAL_MODEL=str(smollm2), KITH_LLM__MAX_REPLY_TOKENS="24",
                      KITH_LLM__LOCAL_CONTEXT="4096",
                      # memory extraction would queue behind the reply on the one CPU model
                      # and `kith chat` waits for it before leaving
                      KITH_MEMORY__LEARN="false")


def wait_for_line(proc: subprocess.Popen[str], prefix: str, timeout: float) -> str:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([proc.stdout], [], [], 0.2)
        if ready:
            line = proc.stdout.readline()
            if line.startswith(prefix):
                return line.strip()
            if not line and proc.poll() is not None:
                break
    raise AssertionError(f"no '{prefix}' line; exit {proc.poll()}")


def test_installed_kith_serves_the_embedded_model_from_any_directory(
    venv: Path, smollm2: Path, tmp_path: Path
) -> None:
    home, elsewhere = tmp_path / "home", tmp_path / "elsewhere"
    home.mkdir()
    elsewhere.mkdir()
    port = free_port()
    proc = subprocess.Popen([str(venv / "bin" / "kith"), "serve"], cwd=elsewhere, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
                            env=_kith_env(home, smollm2, port))
    try:
        line = wait_for_line(proc, "Kith is ready", 90)
        assert line == (f"Kith is ready: open http://127.0.0.1:{port}/ to chat — answering "
                        f"with {smollm2.stem} on llama.cpp in this process")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(timeout=60, follow_redirects=True) as client:
            assert "<textarea" in client.get(f"{base}/").text  # the packaged bot's web chat
            pieces = []
            with client.stream("POST", f"{base}/chat/kith/send",
                               json={"session": "first-run-0001", "text": "Hello!"}) as reply:
                assert reply.status_code == 200
                pieces = [p for p in reply.iter_text() if p]
            assert len(pieces) >= 2 and "".join(pieces).strip()  # streamed, and not empty
            status = client.get(f"{base}/api/model").json()
            assert status["state"] == "ready" and status["model"] == smollm2.stem
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
    assert (home / ".local" / "share" / "kith" / "kith.sqlite3").is_file()  # user data dir
    assert not (elsewhere / "data").exists()


def test_installed_kith_chat_answers_through_a_pipe(venv: Path, smollm2: Path,
                                                   tmp_path: Path) -> None:
    (tmp_path / "home").mkdir()
    done = subprocess.run([str(venv / "bin" / "kith"), "chat"], input="Hello!\n",
                          capture_output=True, text=True, timeout=120, cwd=tmp_path,
                          env=_kith_env(tmp_path / "home", smollm2, free_port()))
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip()
    assert done.stderr == ""
