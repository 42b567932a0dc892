"""What every channel adapter shares: its runtime protocol, its build context, env secrets.

An adapter module exports ``SPEC = ChannelSpec(config=<pydantic model>, build=<factory>)``.
The fleet validates ``[channels.<name>]`` of each bot.toml with ``config`` and calls
``build(context, config)`` to get a :class:`ChannelRuntime`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Protocol, runtime_checkable

from pydantic import BaseModel, BeforeValidator, ConfigDict, SecretStr
from starlette.requests import Request
from starlette.responses import Response

from core.channel_state import ChannelState, FileState
from core.coordination import Leadership, LocalLeadership
from core.events import Inbound, Outbound
from core.profile import BotProfile
from core.relay import LocalRelay, ReplyRelay
from core.reply import Reply
from core.settings import Settings
from core.store.base import ChannelReader, PersonControls

_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def _secret_from_env(name: Any) -> SecretStr:
    if isinstance(name, SecretStr):
        return name
    if not isinstance(name, str) or not _ENV_NAME.match(name):
        raise ValueError("must be the NAME of an environment variable holding the secret")
    value = os.environ.get(name, "")
    if not value:
        raise ValueError(f"environment variable {name} is not set")
    return SecretStr(value)


# In bot.toml: ``token_env = "KITH_TELEGRAM_TOKEN"``; the model field is
# ``token: EnvSecret = Field(alias="token_env")``. Secrets never live in files.
EnvSecret = Annotated[SecretStr, BeforeValidator(_secret_from_env)]


class ChannelConfig(BaseModel):
    """Base for ``[channels.<name>]`` tables: unknown keys are errors, not silence."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)

    enabled: bool = True


async def _one() -> int:
    return 1  # one process: it has the whole budget


@dataclass(frozen=True, slots=True)
class ChannelContext:
    bot: BotProfile
    channel: str
    settings: Settings
    store: ChannelReader  # read access (history for web chat, state): writes go through submit
    # the person's own controls, for the page that shows and changes what Kith knows about
    # them (adapters/web_me.py): the one write a channel makes besides submit
    controls: PersonControls
    submit: Callable[[Inbound], Awaitable[bool]]
    state_dir: Path  # <data_dir>/<bot>/<channel>, created by the fleet
    # One consumer per bot and channel across replicas: a polling or sync loop runs only
    # while this process leads "<channel>/<bot>" (adapters.kit.leading.while_leading).
    leadership: Leadership = field(default_factory=LocalLeadership)
    # Carries a streamed reply to the process holding the request (the web chat).
    relay: ReplyRelay = field(default_factory=LocalRelay)

    # Live replicas sharing this deployment (platform rate budgets are split among them).
    replicas: Callable[[], Awaitable[int]] = _one

    # Its small durable values (sync token, session, spooled mail); files in state_dir
    # unless given (PostgreSQL: rows any replica reads).
    shared_state: ChannelState | None = None

    @property
    def lead_name(self) -> str:
        return f"{self.channel}/{self.bot.name}"

    @property
    def state(self) -> ChannelState:
        return self.shared_state or FileState(self.state_dir)


@runtime_checkable
class ChannelRuntime(Protocol):
    """A running channel. ``deliver`` is its half of the delivery contract:

    * It renders ``reply`` the platform's way (stream and edit, or send once complete) and
      **returns** the :class:`Outbound` the platform accepted, with the ids of the messages
      it created (``reply.outbound(ids)``). An empty reply returns an Outbound with no ids.
    * As soon as the platform creates a message for this reply it calls
      ``await reply.sent(ids_so_far)``: the ids are stored, so after a crash or a failed
      delivery the same messages are finished (edited), never sent a second time.
      ``reply.shown`` holds the ids already showing part of this reply: edit those first.
    * It **raises** :class:`core.reply.DeliveryError` when the platform did not accept the
      reply (``permanent=True`` when retrying cannot help). Other exceptions are treated as
      transient delivery errors too.
    * It may retry a *single platform call* through ``adapters.kit.retry`` (429 with the
      platform's Retry-After, 5xx, network errors), briefly. It never retries a whole reply
      on its own: the dispatcher re-delivers the stored reply with backoff, and no retry
      ever calls the model again.
    """

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound: ...
    async def start(self) -> None: ...
    async def stop(self) -> None: ...


class ChannelRefused(Exception):
    """The platform refused this channel's credentials (a wrong token or password): trying
    again cannot help. ``start`` raises it; the fleet disables the channel with one log line
    and the other channels run on. Any other exception from ``start`` is retried."""


@runtime_checkable
class InputChannel(Protocol):
    """A channel that takes input of its own accord (a poller, a sync loop, a mail listener).

    ``stop_input`` stops taking new messages and returns once nothing more will be submitted;
    the channel still delivers until ``stop``. On shutdown every channel's input stops
    before the dispatcher closes, so nothing is taken that could no longer be recorded."""

    async def stop_input(self) -> None: ...


@runtime_checkable
class WebhookChannel(Protocol):
    """A channel the platform calls: mounted at ``/hooks/{bot}/{channel}``."""

    async def handle_webhook(self, request: Request) -> Response: ...


@dataclass(frozen=True, slots=True)
class ChannelSpec:
    config: type[ChannelConfig]
    build: Callable[[ChannelContext, Any], ChannelRuntime]
    # ``kith check``: does the platform answer (and take the credentials)? None when it
    # does, else the problem in a few words. Harmless: never logs in, never sends.
    probe: Callable[[Any], Awaitable[str | None]] | None = None


@runtime_checkable
class RoutedChannel(Protocol):
    """A channel that serves its own HTTP routes on the gateway (the web chat)."""

    def routes(self) -> list[Any]: ...
