"""Type-check a snippet as code calling Kith would be: mypy strict, as on core/."""

from __future__ import annotations

import os
from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]


def strict_mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    """mypy's report on ``source`` and its exit status (0 clean, 1 type errors)."""
    path = tmp_path / "caller.py"
    path.write_text(source)
    cwd = os.getcwd()
    os.chdir(ROOT)  # core/ resolves from the repository; its config keeps mypy strict
    try:
        out, _err, status = mypy_api.run(["--strict", "--follow-imports=silent",
                                          "--no-incremental", str(path)])
    finally:
        os.chdir(cwd)
    return out, status
