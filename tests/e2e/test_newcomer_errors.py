"""The mistakes a newcomer makes: each is one line on stderr and exit code 2, no traceback."""

from __future__ import annotations

import os
import socket
import subprocess
import uuid
from pathlib import Path

import pytest

from tests.e2e.procs import run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot


def one_line(done: subprocess.CompletedProcess[str], *expected: str) -> str:
    assert done.returncode == 2, (done.stdout, done.stderr)
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("kith: config error: ")
    for part in expected:
        assert part in lines[0]
    return lines[0]


@pytest.mark.parametrize("command", ["serve", "chat"])
def test_data_dir_that_is_a_file(tmp_path: Path, command: str) -> None:
    write_bot(tmp_path / "bots")
    (tmp_path / "file").write_text("not a directory")
    done = run_kith(tmp_path, command, KITH_DATA_DIR=str(tmp_path / "file"),
                    KITH_GATEWAY__PORT=str(free_port()))
    one_line(done, f"KITH_DATA_DIR: {tmp_path / 'file'} exists and is not a directory")


def test_data_dir_that_cannot_be_written(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    if os.geteuid() == 0:  # root writes through permissions; sysfs refuses even root
        target = Path(f"/sys/kith-test-{uuid.uuid4().hex[:8]}")
    else:
        (tmp_path / "ro").mkdir(mode=0o500)
        target = tmp_path / "ro" / "data"
    done = run_kith(tmp_path, "chat", stdin="hi\n", KITH_DATA_DIR=str(target))
    one_line(done, f"KITH_DATA_DIR: cannot write to {target}", "choose a directory you own")


def test_corrupt_database(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "kith.sqlite3").write_bytes(b"this is not SQLite " * 300)
    done = run_kith(tmp_path, "chat", stdin="hi\n")
    one_line(done, "kith.sqlite3 is not a readable Kith database (file is not a database)",
             "move it away")


def test_gateway_port_in_use(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        with running_fake_llm_sync(FakeLLM()) as url:
            done = run_kith(tmp_path, "serve", KITH_GATEWAY__PORT=str(port),
                            KITH_LLM__BASE_URLS=url)
    one_line(done, f"KITH_GATEWAY__PORT: cannot listen on 127.0.0.1:{port}", "free port")


def test_base_url_without_v1(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    done = run_kith(tmp_path, "check", KITH_LLM__BASE_URLS="http://127.0.0.1:8000")
    one_line(done, "KITH_LLM__BASE_URLS:", "'http://127.0.0.1:8000' does not end in /v1",
             "answer at http://127.0.0.1:8000/v1")


def test_check_fails_when_the_configured_model_is_not_served(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    with running_fake_llm_sync(FakeLLM(models=["llama3.2:3b"])) as url:
        done = run_kith(tmp_path, "check", KITH_LLM__BASE_URLS=url,
                        KITH_LLM__MODEL="llama3.1:70b")
    one_line(done, "KITH_LLM__MODEL: no endpoint serves llama3.1:70b (served: llama3.2:3b)")
    assert "answers, serving llama3.2:3b — but not llama3.1:70b" in done.stdout


def test_unreachable_model_in_chat_is_the_apology_and_one_line(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    url = f"http://127.0.0.1:{free_port()}/v1"
    done = run_kith(tmp_path, "chat", stdin="hello\n", timeout=120, KITH_LLM__BASE_URLS=url)
    assert done.returncode == 1
    assert "can't reach my language model" in done.stdout
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr  # no log lines
    assert lines[0].startswith(f"kith: no language model answered at {url[7:]}")
