"""What a tool is: a name, a pydantic argument model, a handler and a policy.

The JSON Schema the model sees comes from the argument model (never hand-written). The
policy says who may trigger the tool and whether it changes anything; the registry uses it
to decide which tools a turn gets.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import BaseModel

from core.calendar.model import CalendarReader
from core.events import Inbound
from core.provenance import Origin
from core.store.base import Store


class Who(StrEnum):
    """Who may trigger a tool."""

    OWNER = "owner"  # only the bot's owner
    ALLOWED = "allowed"  # the owner and people the owner approved
    ANYONE = "anyone"  # anyone the bot talks with, in a group too


@dataclass(frozen=True, slots=True)
class Policy:
    who: Who
    side_effects: bool  # it writes, schedules or deletes something


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a handler may use: the turn's message and person, the store, the clock.

    Also satisfies ``core.memory_commands.Context``, so memory tools reuse the controls.
    """

    inbound: Inbound
    person_id: str
    store: Store
    clock: Callable[[], datetime]
    timezone: str  # the person's IANA zone, resolved
    timezone_source: str  # where it came from, said back to the person
    calendar: CalendarReader | None = None  # the calendar this turn may read, if any


@dataclass(frozen=True, slots=True)
class ToolResult:
    """``text`` goes back to the model; ``notice`` (if any) is shown to the person as is.

    ``origin`` says where ``text`` came from: a result that is not the person's own data
    (``Origin.WEB``, ``Origin.MCP``, …) taints the rest of the turn (see
    :mod:`core.provenance`). Required: no default grants trust.
    """

    text: str
    notice: str = ""
    origin: Origin = field(kw_only=True)


class ToolError(Exception):
    """The call cannot be done as asked; the message goes back to the model to repair."""


Handler = Callable[[ToolContext, Any], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    handler: Handler
    policy: Policy
