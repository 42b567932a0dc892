"""What the core knows about a bot: its persona and model, nothing platform-specific."""

from __future__ import annotations

from dataclasses import dataclass

from core.actions.model import Approvals


@dataclass(frozen=True, slots=True)
class BotProfile:
    name: str
    persona: str
    model: str | None = None  # None: the default model from settings
    vision_model: str | None = None  # None: KITH_LLM__VISION_MODEL (photos need one)
    display_name: str = "Kith"
    tools: tuple[str, ...] | None = None  # None: every default tool (core.tools.catalog)
    timezone: str | None = None  # IANA zone for people who set none with /prefs
    approvals: Approvals = Approvals.UNTRUSTED  # side effects in untrusted contexts: proposed
