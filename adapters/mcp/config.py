"""``[mcp.<name>]`` in ``bot.toml``: one MCP server, over stdio or streamable HTTP.

    [mcp.home]
    command = ["uvx", "home-assistant-mcp"]
    env = { HA_URL = "http://ha.lan:8123" }
    env_from = { HA_TOKEN = "KITH_HA_TOKEN" }   # variable ← Kith's environment (a secret)
    who = "owner"            # or "allowed": the people the owner approved too
    trusted = false          # true: its results, when the owner asks, are his own records
    timeout = 30             # seconds one call may take

    [mcp.notes]
    url = "http://127.0.0.1:8765/mcp"
    headers_env = { Authorization = "KITH_NOTES_MCP_AUTH" }   # header ← environment variable
"""

from __future__ import annotations

import os
import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

SERVER_NAME = re.compile(r"^[a-z0-9](?:[a-z0-9-]|_(?!_)){0,23}$")


class McpServer(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    command: list[str] | None = Field(None, min_length=1, description="stdio: argv to run")
    env: dict[str, str] = Field(default_factory=dict, description="stdio: extra environment")
    env_from: dict[str, str] = Field(
        default_factory=dict, description="stdio: variable name → Kith's environment "
        "variable holding its value (secrets stay out of bot.toml)")
    url: str | None = Field(None, description="streamable HTTP endpoint, e.g. .../mcp")
    headers_env: dict[str, str] = Field(
        default_factory=dict, description="HTTP header name → environment variable with its "
        "value (tokens stay out of bot.toml)")
    who: Literal["owner", "allowed"] = "owner"
    trusted: bool = False
    timeout: float = Field(30.0, gt=0, le=600)
    enabled: bool = True

    @model_validator(mode="after")
    def _one_transport(self) -> McpServer:
        if (self.command is None) == (self.url is None):
            raise ValueError("set either command (stdio) or url (streamable HTTP)")
        if self.url is not None:
            if not self.url.startswith(("http://", "https://")):
                raise ValueError(f"url: {self.url!r} is not an http(s) URL")
            if "@" in self.url.split("://", 1)[1].split("/", 1)[0]:  # never echo it
                raise ValueError("url: must not carry credentials; put the token in "
                                 "headers_env")
        if self.url is None and self.headers_env:
            raise ValueError("headers_env is for url servers")
        if self.url is not None and (self.env or self.env_from):
            raise ValueError("env and env_from are for command servers")
        if self.command is not None and not self.command[0]:
            raise ValueError("command: the first item is the program to run")
        for field, table in (("headers_env", self.headers_env), ("env_from", self.env_from)):
            for key, variable in table.items():
                if not os.environ.get(variable):
                    raise ValueError(f"{field}.{key}: environment variable {variable} is "
                                     "not set")
        return self

    def headers(self) -> dict[str, str]:
        return {header: os.environ[variable] for header, variable in self.headers_env.items()}

    def environment(self) -> dict[str, str]:
        """The stdio server's extra environment: ``env``, then ``env_from``'s values."""
        return {**self.env, **{k: os.environ[v] for k, v in self.env_from.items()}}

    def secrets(self) -> list[str]:
        """Values that must never be logged: headers and ``env_from``."""
        return [*self.headers().values(), *(os.environ[v] for v in self.env_from.values())]


def check_name(name: str) -> str:
    if not SERVER_NAME.match(name):
        raise ValueError(f"mcp.{name}: server names are 1-24 lowercase letters, digits, - "
                         "and single _")
    return name
