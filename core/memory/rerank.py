"""Optional reranking of recalled memories by the inference server's rerank endpoint.

vLLM (``--task score`` models) and llama.cpp (``--reranking``) answer ``POST /v1/rerank``
(and ``/rerank``) with ``{"results": [{"index": i, "relevance_score": s}, ...]}``. Only the
head of the fused list is sent; any failure leaves the fused order as it was.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from core.logging import get_logger

log = get_logger("kith.memory")


class RerankError(Exception):
    pass


class Reranker(Protocol):
    async def rerank(self, query: str, documents: Sequence[str]) -> list[float]: ...


class _Result(BaseModel):
    model_config = ConfigDict(extra="ignore")
    index: int = Field(ge=0)
    relevance_score: float


class _Answer(BaseModel):
    model_config = ConfigDict(extra="ignore")
    results: list[_Result]


def decode(raw: bytes, count: int) -> list[float]:
    """One score per document, in the documents' order. Raises :class:`RerankError`."""
    try:
        answer = _Answer.model_validate_json(raw)
    except ValidationError as err:
        raise RerankError(f"unexpected rerank answer: {err.error_count()} errors") from None
    scores = [float("-inf")] * count
    for result in answer.results:
        if result.index >= count:
            raise RerankError(f"rerank answer names document {result.index} of {count}")
        scores[result.index] = result.relevance_score
    return scores


class HTTPReranker:
    """The rerank endpoint of an OpenAI-compatible server (``base_url`` ends in ``/v1``)."""

    def __init__(self, base_url: str, model: str, api_key: str = "", timeout: float = 5.0,
                 client: httpx.AsyncClient | None = None) -> None:
        self.url = base_url.rstrip("/") + "/rerank"
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self.client = client or httpx.AsyncClient(timeout=timeout, headers=headers)

    async def rerank(self, query: str, documents: Sequence[str]) -> list[float]:
        body = {"model": self.model, "query": query, "documents": list(documents)}
        try:
            response = await self.client.post(self.url, json=body)
        except httpx.HTTPError as err:
            raise RerankError(f"rerank request failed: {type(err).__name__}") from None
        if response.status_code != 200:
            raise RerankError(f"rerank answered HTTP {response.status_code}")
        return decode(response.content, len(documents))

    async def aclose(self) -> None:
        await self.client.aclose()
