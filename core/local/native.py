"""Is llama.cpp's native build usable on this CPU? Asked in a child process, once.

A llama.cpp compiled for CPU features this machine lacks (or mis-detects, as with AMX on
some VMs) dies with a bare ``Segmentation fault`` on the first decode — taking Kith with
it, and again on every start, since held messages resume first. So before the first decode
in-process, a child process loads the model and decodes a few tokens. When it dies, Kith
says in one line what to do and does not load the model; when it succeeds, a marker beside
the model (keyed by llama-cpp-python's version, the file and the CPU) skips the check next
time.
"""

from __future__ import annotations

import contextlib
import hashlib
import signal
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

REBUILD = ("CMAKE_ARGS='-DGGML_NATIVE=OFF -DGGML_AVX2=ON -DGGML_FMA=ON -DGGML_F16C=ON' "
           "pip install --force-reinstall --no-cache-dir llama-cpp-python")
PROBE = """
import sys
from llama_cpp import Llama
llama = Llama(model_path=sys.argv[1], n_ctx=256, n_threads=int(sys.argv[2]), verbose=False)
llama.create_completion("Hello, my name is", max_tokens=4, temperature=0.0)
"""


def _key(path: Path) -> str:
    try:
        import llama_cpp
        version = str(getattr(llama_cpp, "__version__", "?"))
    except ImportError:
        version = "missing"
    try:
        flags = next((line for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("flags")), "")
    except OSError:
        flags = ""
    stat = path.stat()
    raw = f"{version}|{path.resolve()}|{stat.st_size}|{flags}"
    return hashlib.sha256(raw.encode()).hexdigest()


def marker_for(path: Path) -> Path:
    return path.with_name(f".{path.name}.native-ok")


def verdict(returncode: int, stderr: str, path: Path) -> str | None:
    """The one line for a probe's exit (pure); None when it worked."""
    if returncode == 0:
        return None
    if returncode < 0:
        try:
            name = signal.Signals(-returncode).name
        except ValueError:
            name = f"signal {-returncode}"
        return (f"llama.cpp crashed ({name}) on this CPU: its build does not fit this "
                f"machine; rebuild it portably: {REBUILD}")
    last = next((line for line in reversed(stderr.strip().splitlines()) if line.strip()),
                f"exit status {returncode}")
    return f"cannot load {path}: {last.strip()[:300]}"


def check(path: Path, threads: int, timeout: float = 600.0,
          runner: Sequence[str] | None = None) -> str | None:
    """None when the model decodes in a child process (or did before); else what to do."""
    marker, key = marker_for(path), _key(path)
    try:
        if marker.read_text() == key:
            return None
    except OSError:
        pass
    command = [*(runner or [sys.executable, "-c", PROBE]), str(path), str(threads)]
    try:
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                              check=False)
    except subprocess.TimeoutExpired:
        return None  # slow, not broken: the in-process load will tell
    problem = verdict(done.returncode, done.stderr, path)
    if problem is None:
        with contextlib.suppress(OSError):  # a read-only folder: check again next time
            marker.write_text(key)
    return problem
