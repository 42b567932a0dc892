"""Model download against a loopback server that serves files the way the hub does, through
the real huggingface_hub client: progress, sha256, resume — in-process and through the CLI."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from core.local.catalog import CATALOG, LocalModel, ModelSpec, models_dir
from core.local.pull import PullError, StatusBoard, pull
from tests.e2e.procs import run_kith
from tests.fakes.hub import FakeHub, HubFile, running_hub
from tests.support import write_bot

REVISION = "0123456789abcdef0123456789abcdef01234567"
DATA = random.Random(13).randbytes(21 * 1024 * 1024 + 17)  # > 2 of the hub's 10 MB chunks



def make(tmp_path: Path) -> tuple[FakeHub, LocalModel]:
    f = HubFile("kith-test/Tiny-GGUF", "tiny.Q4_K_M.gguf", REVISION, DATA)
    spec = ModelSpec("tiny", f.repo, f.filename, REVISION, f.sha256, None, "test")
    return FakeHub([f]), LocalModel("tiny", models_dir(tmp_path) / f.filename, spec)


def test_download_reports_progress_and_verifies(tmp_path: Path) -> None:
    hub, local = make(tmp_path)
    seen: list[tuple[int, int | None]] = []
    board = StatusBoard("tiny", "downloading")
    with running_hub(hub) as endpoint:
        path = pull(local, report=lambda d, t: seen.append((d, t)), show=False, board=board,
                    endpoint=endpoint)
    assert path.read_bytes() == DATA
    assert not path.with_name(path.name + ".part").exists()
    assert seen[-1] == (len(DATA), len(DATA))
    assert len({d for d, _ in seen}) >= 3  # it moved, more than once
    assert [r[0] for r in hub.requests] == ["HEAD", "GET"]
    assert hub.requests[0][1] == f"/kith-test/Tiny-GGUF/resolve/{REVISION}/tiny.Q4_K_M.gguf"
    assert board.get().as_dict()["percent"] == 100.0
    with running_hub(hub) as endpoint:  # present: no second download
        assert pull(local, show=False, endpoint=endpoint) == path
    assert len(hub.requests) == 2


def test_a_corrupted_download_is_refused_and_deleted(tmp_path: Path) -> None:
    hub, local = make(tmp_path)
    hub.corrupt = True
    with running_hub(hub) as endpoint, pytest.raises(PullError, match="is not the pinned"):
        pull(local, show=False, endpoint=endpoint)
    assert list(local.path.parent.iterdir()) == []


MB = 1024 * 1024
CHUNK = 10 * MB  # huggingface_hub writes the body in chunks of this size


def test_a_dropped_connection_resumes_in_the_same_pull(tmp_path: Path) -> None:
    hub, local = make(tmp_path)
    hub.cut_after = 12 * MB
    with running_hub(hub) as endpoint:
        path = pull(local, show=False, endpoint=endpoint)
    assert path.read_bytes() == DATA
    gets = hub.gets
    assert len(gets) == 2 and gets[0][2] is None
    assert gets[1][2] == f"bytes={CHUNK}-"  # asked only for what it had not written
    assert hub.sent_bytes == len(DATA) + 2 * MB


def test_an_interrupted_download_resumes_on_the_next_pull(tmp_path: Path) -> None:
    hub, local = make(tmp_path)
    hub.cut_after, hub.refuse_after_cut = 12 * MB, True
    with running_hub(hub) as endpoint:
        with pytest.raises(PullError, match=r"cannot download tiny\.Q4_K_M\.gguf"):
            pull(local, show=False, endpoint=endpoint)
        part = local.path.with_name(local.path.name + ".part")
        assert part.stat().st_size == CHUNK  # kept for the next try
        hub.refuse = False
        path = pull(local, show=False, endpoint=endpoint)
    assert path.read_bytes() == DATA
    assert hub.gets[-1][2] == f"bytes={CHUNK}-"
    assert hub.sent_bytes == len(DATA) + 2 * MB  # only the unwritten tail came twice


def _pull_cli(tmp_path: Path, endpoint: str, name: str) -> tuple[int, str, Path]:
    write_bot(tmp_path / "bots")
    done = run_kith(tmp_path, "model", "pull", name, HF_ENDPOINT=endpoint,
                    HF_HUB_DISABLE_XET="1")
    return done.returncode, done.stderr, models_dir(tmp_path / "data")


def test_cli_pull_shows_progress_and_refuses_a_file_that_is_not_the_pin(tmp_path: Path) -> None:
    spec = CATALOG[1]  # the real pin; the fake serves other bytes under its name
    hub = FakeHub([HubFile(spec.repo, spec.filename, spec.revision, DATA)])
    with running_hub(hub) as endpoint:
        code, err, folder = _pull_cli(tmp_path, endpoint, spec.name)
    assert code == 2
    lines = err.strip().splitlines()
    assert "100%" in err and spec.filename in err  # the progress bar
    assert lines[-1].startswith("kith: config error: ")
    assert f"is not the pinned {spec.sha256[:12]}" in lines[-1]
    assert "Traceback" not in err
    assert list(folder.iterdir()) == []


def test_cli_pull_offline_says_where_to_put_the_file(tmp_path: Path) -> None:
    hub = FakeHub([], refuse=True)
    with running_hub(hub) as endpoint:
        code, err, folder = _pull_cli(tmp_path, endpoint, "llama-3.2-1b")
    lines = err.strip().splitlines()
    assert code == 2 and len(lines) == 1, err
    assert lines[0].startswith("kith: config error: cannot download "
                               "Llama-3.2-1B-Instruct-Q4_K_M.gguf")
    assert f"put Llama-3.2-1B-Instruct-Q4_K_M.gguf at {folder}" in lines[0]
    assert "KITH_LLM__LOCAL_MODEL" in lines[0]


def test_unknown_model_name_is_one_line(tmp_path: Path) -> None:
    code, err, _ = _pull_cli(tmp_path, "http://127.0.0.1:9", "gpt-5")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "'gpt-5' is neither a known model" in err


def test_the_pins_are_full_commits_and_sha256() -> None:
    for spec in CATALOG:
        assert len(spec.revision) == 40 and int(spec.revision, 16) >= 0
        assert len(spec.sha256) == 64 and int(spec.sha256, 16) >= 0
        assert spec.filename.endswith("Q4_K_M.gguf")
    assert all(s.name.startswith("llama-3.2-") for s in CATALOG)
