"""Load and validate every bot of the fleet from ``<bots_dir>/<name>/bot.toml``.

Everything is checked up front; the first problem becomes a :class:`ConfigError` that
names the file and the field.
"""

from __future__ import annotations

import functools
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from adapters.base import ChannelConfig
from adapters.caldav.config import CalendarConfig
from adapters.mcp.config import McpServer, check_name
from bots.registry import channel_spec, known_channels
from core.actions.model import Approvals
from core.profile import BotProfile
from core.schedule.times import TimeError, zone
from core.settings import ConfigError, describe_validation_error
from core.tools import catalog

_BOT_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,31}$")


class BotFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: str = "Kith"
    model: str | None = Field(None, description="overrides KITH_LLM__MODEL for this bot")
    vision_model: str | None = Field(None, description="overrides KITH_LLM__VISION_MODEL")
    persona_file: str = "persona.md"
    channels: dict[str, dict[str, Any]] = Field(default_factory=dict)
    tools: list[str] | None = Field(None, description="tools this bot has (default: all)")
    timezone: str | None = Field(None, description="IANA zone for people without /prefs")
    approvals: Approvals = Field(Approvals.UNTRUSTED, description=(
        "side effects asked for in a context holding untrusted content: 'untrusted' proposes "
        "them for the person's approval, 'always' proposes every one, 'never' refuses them"))
    calendar: CalendarConfig | None = Field(None, description="the owner's CalDAV calendar")
    mcp: dict[str, dict[str, Any]] = Field(default_factory=dict,
                                           description="the owner's MCP servers for this bot")

    @field_validator("tools")
    @classmethod
    def _known_tools(cls, value: list[str] | None) -> list[str] | None:
        known = (*catalog.ALL, *catalog.CONFIGURED)
        unknown = [name for name in value or () if name not in known]
        if unknown:
            raise ValueError(f"unknown tool {unknown[0]!r} (known: {', '.join(known)})")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                zone(value)
            except TimeError as err:
                raise ValueError(f"{err}; use an IANA name like Europe/Lisbon") from None
        return value


@dataclass(frozen=True, slots=True)
class BotDefinition:
    profile: BotProfile
    channels: dict[str, ChannelConfig]
    path: Path
    calendar: CalendarConfig | None = None
    mcp: dict[str, McpServer] = field(default_factory=dict)


def _dotted(loc: tuple[int | str, ...], prefix: str = "") -> str:
    return prefix + ".".join(str(part) for part in loc)


def load_bot(directory: Path) -> BotDefinition:
    path = directory / "bot.toml"
    name = directory.name
    if not _BOT_NAME.match(name):
        raise ConfigError(f"{directory}: bot names are lowercase letters, digits, - and _")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{path}: not valid TOML: {err}") from None
    except OSError as err:
        raise ConfigError(f"{path}: cannot read: {err.strerror}") from None
    try:
        spec = BotFile.model_validate(data)
    except ValidationError as err:
        raise ConfigError(f"{path}: {describe_validation_error(err, _dotted)}") from None
    persona_path = directory / spec.persona_file
    try:
        persona = persona_path.read_text(encoding="utf-8").strip()
    except OSError:
        raise ConfigError(f"{path}: persona_file: {persona_path} cannot be read") from None
    channels: dict[str, ChannelConfig] = {}
    for channel, table in spec.channels.items():
        if channel not in known_channels():
            raise ConfigError(
                f"{path}: channels.{channel}: unknown channel '{channel}' "
                f"(known: {', '.join(known_channels())})"
            )
        try:
            config = channel_spec(channel).config.model_validate(table)
        except ValidationError as err:
            problem = describe_validation_error(
                err, functools.partial(_dotted, prefix=f"channels.{channel}.")
            )
            raise ConfigError(f"{path}: {problem}") from None
        if config.enabled:
            channels[channel] = config
    if not channels:
        raise ConfigError(f"{path}: channels: the bot has no enabled channel")
    servers = _mcp_servers(path, spec.mcp)
    tools = tuple(spec.tools) if spec.tools is not None else None
    if tools is None and spec.calendar is not None:  # a calendar brings its tools
        tools = (*catalog.DEFAULT, *catalog.CALENDAR, *catalog.CONFIGURED)
    profile = BotProfile(name=name, persona=persona, model=spec.model,
                         vision_model=spec.vision_model,
                         display_name=spec.display_name, tools=tools,
                         timezone=spec.timezone, approvals=spec.approvals)
    return BotDefinition(profile=profile, channels=channels, path=path,
                         calendar=spec.calendar, mcp=servers)


def _mcp_servers(path: Path, tables: dict[str, dict[str, Any]]) -> dict[str, McpServer]:
    servers: dict[str, McpServer] = {}
    for name, table in tables.items():
        try:
            check_name(name)
            server = McpServer.model_validate(table)
        except ValidationError as err:
            problem = describe_validation_error(
                err, functools.partial(_dotted, prefix=f"mcp.{name}."))
            raise ConfigError(f"{path}: {problem.replace('.: ', ': ')}") from None
        except ValueError as err:
            raise ConfigError(f"{path}: {err}") from None
        if server.enabled:
            servers[name] = server
    return servers


def load_fleet(bots_dir: Path) -> list[BotDefinition]:
    if not bots_dir.is_dir():
        raise ConfigError(f"KITH_BOTS_DIR: {bots_dir} is not a directory")
    dirs = sorted(p for p in bots_dir.iterdir() if (p / "bot.toml").is_file())
    if not dirs:
        raise ConfigError(f"KITH_BOTS_DIR: no <name>/bot.toml under {bots_dir}")
    return [load_bot(d) for d in dirs]
