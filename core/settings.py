"""Process-wide settings: environment variables prefixed ``KITH_``, nested with ``__``.

Every secret is a :class:`SecretStr`. :func:`load_settings` turns validation errors into
:class:`ConfigError` whose message names the variable and says what is wrong.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Any, Literal

import platformdirs
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

ENV_PREFIX = "KITH_"
DATABASE_SCHEMES = ("postgresql://", "postgres://")


class ConfigError(Exception):
    """Configuration is invalid; the message is one line a person can act on."""


def check_base_url(url: str, key_field: str) -> str:
    """An OpenAI-compatible base URL: http(s), no credentials in it, ending in /v1."""
    if not url.startswith(("http://", "https://")):
        raise ValueError(f"{url!r} is not an http(s) URL")
    if "@" in url.split("://", 1)[1].split("/", 1)[0]:  # never echo it: a secret
        raise ValueError(f"a base URL must not carry credentials; put the key in {key_field}")
    if not url.rstrip("/").endswith("/v1"):
        raise ValueError(f"{url!r} does not end in /v1: OpenAI-compatible servers "
                         f"answer at {url.rstrip('/')}/v1")
    return url.rstrip("/")


# Where Ollama, LM Studio, vLLM and llama.cpp's server listen by default.
LOCAL_SERVERS = ("ollama=127.0.0.1:11434", "lmstudio=127.0.0.1:1234", "vllm=127.0.0.1:8000",
                 "llama.cpp=127.0.0.1:8080")


def user_data_dir() -> Path:
    """The person's data directory for Kith (``~/.local/share/kith`` on Linux)."""
    return Path(platformdirs.user_data_dir("kith", appauthor=False))


class LLMSettings(BaseModel):
    base_urls: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: ["http://127.0.0.1:8000/v1"], min_length=1
    )
    api_key: Annotated[SecretStr, BeforeValidator(lambda v: _empty_is_unset(v) or "EMPTY")] = (
        SecretStr("EMPTY"))
    model: str = "meta-llama/Llama-3.1-8B-Instruct"
    embed_model: str | None = None
    vision_model: str | None = Field(
        None, description="a vision-capable model on the same servers; photos need it")
    rerank_model: str | None = Field(
        None, description="reorder recalled memories with the server's /v1/rerank"
    )
    timeout: float = Field(60.0, gt=0, description="seconds without a byte from the server")
    connect_timeout: float = Field(5.0, gt=0)
    max_attempts: int = Field(4, ge=1, le=20)
    backoff_max: float = Field(8.0, ge=0)
    max_retry_after: float = Field(30.0, ge=0, description="longest Retry-After we wait out")
    down_cooldown: float = Field(15.0, ge=0, description="seconds an endpoint stays 'down'")
    max_reply_tokens: int = Field(1024, ge=16)
    temperature: float = Field(0.7, ge=0, le=2)
    # Used only when KITH_LLM__BASE_URLS is not set (see core/local/):
    local_servers: Annotated[list[str], NoDecode] = Field(
        default_factory=lambda: list(LOCAL_SERVERS),
        description="name=host:port of local OpenAI-compatible servers to look for, in order",
    )
    local_model: str = Field("llama-3.2-3b", description="catalog name or path to a GGUF file")
    local_context: int = Field(8192, ge=512, description="context window of the embedded model")
    local_threads: int | None = Field(
        None, ge=1, description="CPU threads (default: the physical cores this process may use)")

    @property
    def configured(self) -> bool:
        """True when the person named their servers; False means: find or run a local one."""
        return "base_urls" in self.model_fields_set

    @field_validator("local_servers", mode="before")
    @classmethod
    def _split_servers(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("local_servers")
    @classmethod
    def _check_servers(cls, value: list[str]) -> list[str]:
        for item in value:
            name, _, address = item.partition("=")
            host, _, port = address.rpartition(":")
            if not name or not host or not port.isdigit():
                raise ValueError(f"{item!r} is not name=host:port")
        return value

    @field_validator("base_urls", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("base_urls")
    @classmethod
    def _check_urls(cls, value: list[str]) -> list[str]:
        for url in value:
            if not url.startswith(("http://", "https://")):
                raise ValueError(f"{url!r} is not an http(s) URL")
            if "@" in url.split("://", 1)[1].split("/", 1)[0]:  # never echo it: a secret
                raise ValueError("a base URL must not carry credentials; "
                                 "put the key in KITH_LLM__API_KEY")
            if not url.rstrip("/").endswith("/v1"):
                raise ValueError(f"{url!r} does not end in /v1: OpenAI-compatible servers "
                                 f"answer at {url.rstrip('/')}/v1")
        return [url.rstrip("/") for url in value]


class SpeechSettings(BaseModel):
    """An OpenAI-compatible ``/v1/audio/transcriptions`` (vLLM Whisper, whisper.cpp server)."""

    base_url: str | None = Field(None, description="e.g. http://gpu1:8001/v1; unset: no voice")
    model: str | None = Field(None, description="the served model, e.g. openai/whisper-large-v3")
    api_key: SecretStr = SecretStr("EMPTY")
    timeout: float = Field(60.0, gt=0)
    convert: Literal["none", "wav"] = Field(
        "none", description="wav: send 16 kHz mono WAV (whisper.cpp without --convert)")
    response_format: Literal["json", "verbose_json"] = "json"
    language: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.base_url and self.model)

    @field_validator("base_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        return check_base_url(value, "KITH_SPEECH__API_KEY")


class MediaSettings(BaseModel):
    """Limits per kind (checked before download where the platform says the size)."""

    max_audio_mb: float = Field(20.0, gt=0, description="largest voice note fetched")
    max_audio_seconds: int = Field(300, gt=0, description="longest voice note transcribed")
    max_image_mb: float = Field(10.0, gt=0, description="largest photo fetched")
    image_max_side: int = Field(1120, ge=64, description="photos are resized to fit this")
    keep_image_turns: int = Field(3, ge=0, description="later turns that still see a photo")
    keep_image_minutes: int = Field(30, ge=0, description="photos leave memory after this")
    describe_images: bool = Field(True, description="keep a short description in history")


class PromptSettings(BaseModel):
    budget_tokens: int = Field(6000, ge=512, description="most tokens a prompt may use")
    history_share: float = Field(0.6, gt=0, lt=1, description="share of the budget for turns")
    block_turns: int = Field(8, ge=1, description="history is trimmed in blocks of this size")


class MemoryConfig(BaseModel):
    learn: bool = Field(True, description="extract long-term memories from conversations")
    quiet_seconds: float = Field(
        60.0, gt=0, description="extract a conversation once it has been this long quiet"
    )
    every_turns: int = Field(
        20, ge=1, description="... or after this many answered turns, whichever comes first"
    )
    local_embedder: bool = Field(
        False, description="embed with a small CPU model (kith[local-embed]) when the server "
        "has no embedding model (KITH_LLM__EMBED_MODEL unset)"
    )
    recall_k: int = Field(8, ge=0, le=50, description="most memories placed in a prompt")
    recall_tokens: int = Field(400, ge=0, description="token budget for recalled memories")
    offers: bool = Field(True, description="offer a reminder or event (yes/no) for the dated "
                         "plans the memory extraction finds in the person's own words")


class DeliverySettings(BaseModel):
    """How long Kith keeps trying to deliver a reply, and to answer when no model answers."""

    give_up_after: float = Field(3600.0, gt=0, description="seconds after the answer before "
                                 "a reply the platform keeps refusing is 'undeliverable'")
    hold_for: float = Field(3600.0, gt=0, description="seconds a message waits for a model "
                            "when every endpoint is down, before it is dropped (and the "
                            "person told)")
    retry_min: float = Field(1.0, gt=0, description="first pause before trying again")
    retry_max: float = Field(60.0, gt=0, description="longest pause between tries")


def _empty_is_unset(value: Any) -> Any:
    """``KITH_X=`` (as compose's env_file passes an unset variable) means unset, not ""."""
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    if isinstance(value, str) and not value.strip():
        return None
    return value


OptionalSecret = Annotated[SecretStr | None, BeforeValidator(_empty_is_unset)]
LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")


def is_loopback(host: str) -> bool:
    host = host.strip("[]").lower()
    if host in LOOPBACK_NAMES or host.endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class GatewaySettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8080, ge=0, le=65535)
    public_url: str | None = Field(None, pattern=r"^https?://[^/?#\s]+")
    allowed_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="Host names the gateway answers to, besides "
        "loopback names, IP addresses and the public_url's host")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="largest request body")
    header_timeout: float = Field(10.0, gt=0, description="seconds for a request's headers")
    body_timeout: float = Field(30.0, gt=0, description="seconds for a request's body")
    max_connections: int = Field(1000, ge=16, description="open connections in all (and at "
                                 "most what the file limit leaves room for)")
    max_connections_per_client: int = Field(64, ge=1, description="from one address")
    webchat: bool = True
    webchat_token: OptionalSecret = None  # required when host is not loopback

    @field_validator("allowed_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        return [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) \
            else value

    @property
    def local(self) -> bool:
        """Listening on loopback only: nothing off this machine can reach the gateway."""
        return is_loopback(self.host)


class WebSettings(BaseModel):
    """The web tools: ``web_search`` over the owner's SearXNG, ``read_page`` for links."""

    search_url: str | None = Field(
        None, description="the owner's SearXNG, e.g. http://searx.lan:8888 (JSON enabled); "
        "unset: no web tools")
    allow_hosts: Annotated[list[str], NoDecode] = Field(
        default_factory=list, description="host names read_page may reach although they "
        "resolve to a private or loopback address (your own services)")

    @field_validator("search_url", mode="before")
    @classmethod
    def _unset(cls, value: Any) -> Any:
        return _empty_is_unset(value)

    @field_validator("search_url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith(("http://", "https://")):
            raise ValueError(f"{value!r} is not an http(s) URL")
        return value

    @field_validator("allow_hosts", mode="before")
    @classmethod
    def _split_hosts(cls, value: Any) -> Any:
        return [h.strip() for h in value.split(",") if h.strip()] if isinstance(value, str) \
            else value


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
    )

    data_dir: Path = Field(default_factory=user_data_dir)
    bots_dir: Path | None = Field(None, description="default: the bots shipped with Kith")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool | None = None  # None: JSON unless stderr is a TTY
    concurrency: int = Field(64, ge=1, description="turns running at once, all conversations")
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL"
    # PostgreSQL (many replicas on one database) when set; the SQLite file otherwise
    database_url: OptionalSecret = Field(None, description="postgresql://user:pass@host/db")
    # the key people's stored secrets (a linked calendar's password) are sealed with; a
    # key file beside the data is made when unset (replicas share this one instead)
    secret_key: OptionalSecret = Field(None, description="32 bytes, URL-safe base64")
    llm: LLMSettings = Field(default_factory=LLMSettings)
    prompt: PromptSettings = Field(default_factory=PromptSettings)
    gateway: GatewaySettings = Field(default_factory=GatewaySettings)
    web: WebSettings = Field(default_factory=WebSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    memory: MemoryConfig = Field(default_factory=MemoryConfig)
    speech: SpeechSettings = Field(default_factory=SpeechSettings)
    media: MediaSettings = Field(default_factory=MediaSettings)

    @field_validator("database_url")
    @classmethod
    def _check_database_url(cls, value: SecretStr | None) -> SecretStr | None:
        if value is not None and not value.get_secret_value().startswith(DATABASE_SCHEMES):
            raise ValueError("must start with postgresql:// or postgres:// "
                             "(unset it to use the SQLite file in KITH_DATA_DIR)")
        return value


def env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part).upper() for part in loc)


def describe_validation_error(err: ValidationError, name: Any = env_name) -> str:
    """One line per problem, naming the field the way the person wrote it."""
    lines = []
    for item in err.errors(include_url=False, include_input=False):
        lines.append(f"{name(tuple(item['loc']))}: {item['msg']}")
    return "; ".join(lines)


def load_settings(**overrides: Any) -> Settings:
    try:
        return Settings(**overrides)
    except ValidationError as err:
        raise ConfigError("invalid configuration: " + describe_validation_error(err)) from None


def secret_values(model: BaseModel) -> list[str]:
    """Every non-empty secret inside ``model``, for the log redactor."""
    found: list[str] = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, SecretStr):
            raw = value.get_secret_value()
            if raw and raw != "EMPTY":
                found.append(raw)
        elif isinstance(value, BaseModel):
            found.extend(secret_values(value))
    return found
