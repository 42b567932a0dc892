"""``kith serve`` answers ``/healthz`` before it imports what only a turn, a photo, a linked
calendar or a vector search needs (``python -m bench.startup`` measures the time)."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.e2e.procs import REPO

# imported on first use, never on the way to /healthz (each cost tens of milliseconds)
LATER = ("numpy", "PIL", "snowballstemmer", "cryptography", "openai",
         # add-ons of httpx and structlog that Kith never calls (bots/startup.py)
         "rich", "pygments", "twisted")
SERVE_PATH = ("bots.cli", "bots.gateway", "bots.runtime", "adapters.web")


def test_the_serve_path_imports_none_of_what_a_turn_needs_later() -> None:
    code = ("import importlib, json, sys\n"
            f"for name in {SERVE_PATH!r}:\n"
            "    importlib.import_module(name)\n"
            f"print(json.dumps([m for m in {LATER!r} if m in sys.modules]))\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == []


def test_the_add_ons_are_still_there_for_kith_chat() -> None:
    code = ("import bots.runtime, rich.console, structlog\n"
            "print(rich.console.Console.__name__)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          cwd=REPO, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin"},
                          timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "Console"
