"""``[channels.telegram]`` of bot.toml."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import Field, model_validator

from adapters.base import ChannelConfig, EnvSecret

DEFAULT_API = "https://api.telegram.org/bot"
_SECRET = re.compile(r"^[A-Za-z0-9_-]{1,256}$")  # what Telegram accepts as secret_token


class TelegramConfig(ChannelConfig):
    token: EnvSecret = Field(alias="token_env")
    mode: Literal["webhook", "polling"] = "webhook"
    api_base_url: str = Field(DEFAULT_API, pattern=r"^https?://")
    api_file_url: str | None = Field(None, pattern=r"^https?://",
                                     description="default: api_base_url with /bot → /file/bot")
    webhook_secret: EnvSecret | None = Field(None, alias="webhook_secret_env")
    public_url: str | None = Field(None, pattern=r"^https?://",
                                   description="default: KITH_GATEWAY__PUBLIC_URL")
    owners: list[int] = Field(default_factory=list)
    allowed_users: list[int] = Field(default_factory=list)
    allowed_groups: list[int] = Field(default_factory=list)
    group_context: bool | list[int] = False
    bare_commands: bool = Field(False, description="answer /cmd without @bot in groups "
                                "(set when no other bot shares your groups)")
    unknown_group: Literal["leave", "silent"] = "leave"
    edit_interval: float = Field(1.0, ge=0.0, le=60.0)
    group_edit_interval: float = Field(3.0, ge=0.0, le=60.0)
    first_send_hold: float = Field(1.0, ge=0.0, le=60.0, description=(
        "seconds a streamed reply's first message waits for more text (at most the edit "
        "interval): a reply done by then is one message and one Bot API call; 0 sends the "
        "first text at once"))
    global_rate: float = Field(30.0, gt=0, description="API calls per second, whole bot")
    poll_timeout: int = Field(30, ge=0, le=50)
    max_attempts: int = Field(6, ge=1, le=50)

    @model_validator(mode="after")
    def _webhook_needs_secret(self) -> TelegramConfig:
        if self.mode == "webhook" and self.webhook_secret is None:
            raise ValueError("webhook mode needs webhook_secret_env (the NAME of an env var)")
        if self.webhook_secret is not None and not _SECRET.match(
                self.webhook_secret.get_secret_value()):
            raise ValueError("the webhook secret must be 1-256 characters: A-Z, a-z, 0-9, _ and -")
        return self

    def file_url(self) -> str:
        if self.api_file_url:
            return self.api_file_url
        base = self.api_base_url
        return base[: -len("/bot")] + "/file/bot" if base.endswith("/bot") else base

    def context_for(self, chat_id: int) -> bool:
        if isinstance(self.group_context, bool):
            return self.group_context
        return chat_id in self.group_context
