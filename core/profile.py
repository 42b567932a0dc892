"""What the core knows about a bot: its persona and model, nothing platform-specific."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BotProfile:
    name: str
    persona: str
    model: str | None = None  # None: the default model from settings
    vision_model: str | None = None  # None: KITH_LLM__VISION_MODEL (photos need one)
    display_name: str = "Kith"
