"""Helpers to run Kith for real inside a test: settings, bots on disk, the gateway on loopback."""

from __future__ import annotations

import socket
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from bots.fleet import BotDefinition, load_fleet
from bots.gateway import build_app
from bots.runtime import Kith
from core.settings import Settings
from tests.fakes.loopback import serve_loopback

PERSONA = "You are Kith, a test assistant."


def make_settings(tmp_path: Path, base_urls: list[str] | str, **overrides: Any) -> Settings:
    urls = base_urls if isinstance(base_urls, list) else [base_urls]
    llm = {"base_urls": urls, "model": "llama-test", "timeout": 5.0, "connect_timeout": 1.0,
           "max_attempts": 3, "backoff_max": 0.2, "down_cooldown": 5.0,
           **overrides.pop("llm", {})}
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        data_dir=tmp_path / "data",
        bots_dir=overrides.pop("bots_dir", tmp_path / "bots"),
        llm=llm,
        memory=overrides.pop("memory", {"learn": False}),  # tests that count LLM calls
        **overrides,
    )


def write_bot(bots_dir: Path, name: str = "kith", toml: str | None = None,
              persona: str = PERSONA) -> Path:
    directory = bots_dir / name
    directory.mkdir(parents=True, exist_ok=True)
    body = toml if toml is not None else "[channels.web]\n[channels.terminal]\n"
    (directory / "bot.toml").write_text(textwrap.dedent(body), encoding="utf-8")
    (directory / "persona.md").write_text(persona, encoding="utf-8")
    return directory


def fleet_for(settings: Settings) -> list[BotDefinition]:
    return load_fleet(settings.bots_dir)


@asynccontextmanager
async def running_kith(settings: Settings, **kwargs: Any) -> AsyncIterator[Kith]:
    kith = Kith(settings, fleet_for(settings), **kwargs)
    await kith.start()
    try:
        yield kith
    finally:
        await kith.stop()


@asynccontextmanager
async def running_gateway(kith: Kith) -> AsyncIterator[str]:
    """Serve the gateway for an already started ``kith`` on 127.0.0.1:<free port>."""
    async with serve_loopback(build_app(kith, manage_lifecycle=False), lifespan="on") as base:
        yield base


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])
