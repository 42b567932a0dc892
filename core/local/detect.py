"""Find a local OpenAI-compatible server on its usual loopback port.

Each candidate is asked ``GET /v1/models`` with a short timeout, all at once; the first in
the configured order that answers with at least one model wins.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import httpx

LABELS = {"ollama": "Ollama", "lmstudio": "LM Studio", "vllm": "vLLM",
          "llama.cpp": "llama.cpp server"}


@dataclass(frozen=True, slots=True)
class Candidate:
    name: str
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}/v1"

    @property
    def label(self) -> str:
        return f"{LABELS.get(self.name, self.name)} at {self.host}:{self.port}"


@dataclass(frozen=True, slots=True)
class Found:
    candidate: Candidate
    models: tuple[str, ...]
    model: str  # the one Kith will use

    def describe(self) -> str:
        return f"{self.candidate.label}, model {self.model}"


def parse_candidates(items: Sequence[str]) -> list[Candidate]:
    """``name=host:port`` entries (already validated by the settings)."""
    out = []
    for item in items:
        name, _, address = item.partition("=")
        host, _, port = address.rpartition(":")
        out.append(Candidate(name.strip(), host.strip(), int(port)))
    return out


def served_models(body: Any) -> tuple[str, ...]:
    """Model ids of a ``/v1/models`` answer (pure, tolerant)."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, list):
        return ()
    return tuple(str(m["id"]) for m in data if isinstance(m, dict) and m.get("id"))


def pick_model(models: Sequence[str], wanted: str | None) -> str | None:
    """The configured model if served; else the first, when no model was asked for."""
    if wanted is not None:
        return wanted if wanted in models else None
    return models[0] if models else None


async def _ask(client: httpx.AsyncClient, candidate: Candidate) -> tuple[str, ...] | None:
    try:
        response = await client.get(f"{candidate.base_url}/models")
        if response.status_code != 200:
            return None
        return served_models(response.json())
    except (httpx.HTTPError, ValueError):
        return None


async def find_server(
    candidates: Sequence[Candidate], wanted: str | None = None, wait: float = 0.5
) -> tuple[Found | None, list[str]]:
    """The first candidate serving a usable model, and a note per candidate passed over."""
    if not candidates:
        return None, []
    async with httpx.AsyncClient(timeout=wait, trust_env=False) as client:
        answers = await asyncio.gather(*(_ask(client, c) for c in candidates))
    notes: list[str] = []
    for candidate, models in zip(candidates, answers, strict=True):
        if models is None:
            continue
        model = pick_model(models, wanted)
        if model is not None:
            return Found(candidate, models, model), notes
        served = ", ".join(models) or "no models"
        notes.append(f"{candidate.label} answers but serves {served}"
                     + (f", not {wanted}" if wanted else ""))
    return None, notes
