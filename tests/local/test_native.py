"""An unusable native llama.cpp build is found in a child process, before Kith's first decode."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

from core.local import native
from core.local.catalog import LocalModel
from core.local.embedded import EmbeddedModel
from core.settings import LLMSettings

CRASH = [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


def test_a_crashing_build_is_one_line_of_what_to_do(tmp_path: Path, smollm2: Path) -> None:
    model = tmp_path / "m.gguf"
    shutil.copyfile(smollm2, model)
    problem = native.check(model, 1, runner=CRASH)
    assert problem is not None and "\n" not in problem
    assert "SIGSEGV" in problem and "GGML_NATIVE=OFF" in problem
    assert not native.marker_for(model).exists()  # asked again on the next start


def test_the_real_build_passes_once_and_is_remembered(tmp_path: Path, smollm2: Path) -> None:
    model = tmp_path / "m.gguf"
    shutil.copyfile(smollm2, model)
    assert native.check(model, 1) is None
    assert native.marker_for(model).exists()
    assert native.check(model, 1, runner=CRASH) is None  # not asked again


async def test_the_model_is_not_loaded_when_the_probe_dies(tmp_path: Path, smollm2: Path,
                                                          monkeypatch: object) -> None:
    model = tmp_path / "m.gguf"
    shutil.copyfile(smollm2, model)
    real = native.check
    monkeypatch.setattr(native, "check",  # type: ignore[attr-defined]
                        lambda path, threads: real(path, threads, runner=CRASH))
    embedded = EmbeddedModel(LocalModel("m", model, None), LLMSettings(local_threads=1),
                             show_progress=False)
    try:
        status = None
        try:
            await embedded.ready()
        except Exception as err:
            status = str(err)
        assert status is not None and "SIGSEGV" in status
        assert embedded.status().state == "failed" and embedded._llama is None
        assert "GGML_NATIVE=OFF" in ((await embedded.probe())["embedded:m"].error or "")
    finally:
        await embedded.aclose()


def test_an_ordinary_failure_says_its_last_line() -> None:
    model = Path("/m/x.gguf")
    assert native.verdict(1, "Traceback…\nValueError: bad magic\n", model) == (
        "cannot load /m/x.gguf: ValueError: bad magic")
    assert native.verdict(0, "", model) is None
