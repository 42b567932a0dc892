"""Run the real ``kith`` command as a subprocess with a clean KITH_* environment."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

KITH = [sys.executable, "-m", "bots.cli"]
REPO = Path(__file__).resolve().parents[2]


def kith_env(tmp_path: Path, **env: str) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("KITH_")}
    base.update({
        "KITH_BOTS_DIR": str(tmp_path / "bots"),
        "KITH_DATA_DIR": str(tmp_path / "data"),
        "KITH_LLM__TIMEOUT": "5",
        "KITH_LLM__CONNECT_TIMEOUT": "1",
        "KITH_LLM__BACKOFF_MAX": "0.2",
        "KITH_LLM__MAX_ATTEMPTS": "2",
        "KITH_MEMORY__LEARN": "false",  # tests here count the model's calls
        "KITH_LLM__LOCAL_SERVERS": "",  # never find a server another test (or person) runs
        "HF_ENDPOINT": "http://127.0.0.1:9",  # a model download can only fail, offline
        "PYTHONPATH": str(REPO),
    })
    base.update(env)
    return base


def run_kith(tmp_path: Path, *args: str, stdin: str = "", timeout: float = 240,
             **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*KITH, *args], input=stdin, capture_output=True, text=True, timeout=timeout,
        env=kith_env(tmp_path, **env), cwd=tmp_path, check=False,
    )
