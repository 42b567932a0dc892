"""``[channels.matrix]`` of bot.toml."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from adapters.base import ChannelConfig, EnvSecret


class MatrixConfig(ChannelConfig):
    homeserver: str = Field(pattern=r"^https?://")
    user_id: str = Field(pattern=r"^@[^:]+:.+$")
    password: EnvSecret | None = Field(None, alias="password_env")
    access_token: EnvSecret | None = Field(None, alias="access_token_env")
    device_name: str = "Kith"
    allowed_users: list[str] = Field(default_factory=list)
    allowed_servers: list[str] = Field(default_factory=list)
    owners: list[str] = Field(default_factory=list)
    # "trust": trust a device the first time it is seen (TOFU, logged); "ignore": leave
    # unverified devices out — they receive no room keys until verified elsewhere.
    unverified_devices: Literal["trust", "ignore"] = "trust"
    command_prefix: str = "!kith"
    edit_interval: float = Field(1.0, ge=0.0, description="seconds between streaming edits")
    sync_timeout_ms: int = Field(30_000, ge=0)
    max_retry_wait: float = Field(120.0, gt=0, description="longest rate-limit wait honoured")

    @model_validator(mode="after")
    def _credentials(self) -> MatrixConfig:
        if self.password is None and self.access_token is None:
            raise ValueError("set password_env or access_token_env")
        return self

    def may_invite(self, user_id: str) -> bool:
        server = user_id.partition(":")[2]
        return (user_id in self.owners or user_id in self.allowed_users
                or server in self.allowed_servers)
