"""``[calendar]`` of bot.toml: the owner's CalDAV account."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from adapters.base import EnvSecret


class CalendarConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    url: str = Field(pattern=r"^https?://", description="the CalDAV server or principal URL")
    username: str = Field(min_length=1)
    password: EnvSecret = Field(alias="password_env")
    calendars: list[str] | None = Field(
        None, description="which calendars, by display name (default: every one)")
    timeout: float = Field(10.0, gt=0, le=60, description="seconds for one CalDAV request")
