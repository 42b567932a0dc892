"""``[channels.email]`` of bot.toml: who the owners are, how mail comes in and goes out."""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from adapters.base import ChannelConfig, EnvSecret

_ADDRESS = r"^[^@\s<>]+@[^@\s<>]+\.[^@\s<>]+$"


class _Table(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class ListenConfig(_Table):
    """The built-in SMTP listener (aiosmtpd) for an address pointed at Kith."""

    host: str = "127.0.0.1"
    port: int = Field(2525, ge=0, le=65535)
    max_message_bytes: int = Field(10_000_000, ge=1024)
    tls_cert: str | None = None  # PEM files: enables STARTTLS
    tls_key: str | None = None
    require_starttls: bool = False
    auth_user: str | None = None  # AUTH (only offered over TLS)
    auth_password: EnvSecret | None = Field(None, alias="auth_password_env")


class OutboundConfig(_Table):
    """The relay that carries drafts to the owner (aiosmtplib)."""

    host: str = "localhost"
    port: int = Field(587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: EnvSecret | None = Field(None, alias="password_env")
    timeout: float = Field(30.0, gt=0)
    attempts: int = Field(4, ge=1, le=10)
    connections: int = Field(4, ge=1, le=64)  # kept open to the relay, reused
    backoff: float = Field(1.0, ge=0)


class ImapConfig(_Table):
    """A mailbox watched over IMAP (aioimaplib): IDLE when offered, else polling."""

    host: str
    port: int = Field(993, ge=1, le=65535)
    ssl: bool = True
    username: str
    password: EnvSecret = Field(alias="password_env")
    mailbox: str = "INBOX"
    drafts: str | None = "Drafts"  # where the ready-to-send reply is appended; None: never
    idle: bool = True
    poll_seconds: float = Field(60.0, gt=0)
    idle_seconds: float = Field(600.0, gt=0)  # re-issue IDLE this often (RFC: under 29 min)


class EmailConfig(ChannelConfig):
    owners: list[str] = Field(min_length=1)  # the only people served, and drafts' only recipients
    address: str = Field(pattern=_ADDRESS)  # Kith's own address: From of the drafts it sends
    trusted_authserv_ids: list[str] = Field(default_factory=list)
    max_body_chars: int = Field(20_000, ge=500)
    max_parts: int = Field(200, ge=10)  # MIME parts in one mail: over it, a notice, no parse
    parse_seconds: float = Field(10.0, gt=0)  # time budget to read one mail, off the loop
    # time budget to verify one mail (DKIM hashing, key lookups), before it is read
    verify_seconds: float = Field(15.0, gt=0)
    listen: ListenConfig | None = None
    imap: ImapConfig | None = None
    outbound: OutboundConfig = Field(default_factory=OutboundConfig)

    @field_validator("owners")
    @classmethod
    def _owners(cls, owners: list[str]) -> list[str]:
        for owner in owners:
            if not re.match(_ADDRESS, owner):
                raise ValueError(f"not an email address: {owner!r}")
        return [owner.strip() for owner in owners]
