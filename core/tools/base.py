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

from core.calendar.model import Calendar
from core.events import Inbound
from core.ids import PersonId
from core.provenance import Origin
from core.store.base import PersonStore


class Who(StrEnum):
    """Who may trigger a tool."""

    OWNER = "owner"  # only the bot's owner
    ALLOWED = "allowed"  # the owner and people the owner approved
    ANYONE = "anyone"  # anyone the bot talks with, in a group too


@dataclass(frozen=True, slots=True)
class Policy:
    who: Who
    side_effects: bool  # it writes, schedules or deletes something
    # its writes are only Kith's own store, made without waiting on anything else: they
    # commit in one transaction with the action's completion (see core.tools.acts)
    atomic: bool = False
    # run again with the same idempotency key, it changes nothing more (a CalDAV PUT with
    # If-None-Match: *): an action interrupted after it began is run again, not given up
    idempotent: bool = False
    # always proposed, in a trusted context too: what it would do is the answer the person
    # reads and approves (a plan of several events)
    asks: bool = False


@dataclass(frozen=True, slots=True)
class ToolContext:
    """What a handler may use: the turn's message and person, their data, the clock.

    Also satisfies ``core.memory_commands.Context``, so memory tools reuse the controls.
    """

    inbound: Inbound
    person_id: PersonId
    store: PersonStore  # the person's data; the inbox and delivery are the lifecycle's
    clock: Callable[[], datetime]
    timezone: str  # the person's IANA zone, resolved
    timezone_source: str  # where it came from, said back to the person
    calendar: Calendar | None = None  # the calendar this turn may use, if any
    # a side-effect handler's action key for the system it acts on (a CalDAV UID, an MCP
    # request id): the same on every run of this action (core.actions.model.idempotency_key)
    idempotency_key: str = ""


@dataclass(frozen=True, slots=True)
class ToolResult:
    """``text`` goes back to the model; ``notice`` (if any) is shown to the person as is.

    ``undo`` (side-effect tools) is announced with the notice.
    ``origin`` says where ``text`` came from: a result that is not the person's own data
    (``Origin.WEB``, ``Origin.MCP``, …) taints the rest of the turn (see
    :mod:`core.provenance`). Required: no default grants trust.
    """

    text: str
    notice: str = ""
    origin: Origin = field(kw_only=True)
    undo: str = ""  # how the person undoes what was done (e.g. a command), if they can


class ToolError(Exception):
    """The call cannot be done as asked; the message goes back to the model to repair."""


Handler = Callable[[ToolContext, Any], Awaitable[ToolResult]]


@dataclass(frozen=True, slots=True)
class Prepare:
    """Turns the model's arguments into the concrete action that is recorded, proposed and
    run (``args`` is its model): what the person approves is exactly what runs, however the
    world changed meanwhile. ``describe`` says it to the person (lines, in their zone)."""

    args: type[BaseModel]
    make: Callable[[ToolContext, Any], Awaitable[BaseModel]]
    describe: Callable[[ToolContext, Any], str]


@dataclass(frozen=True, slots=True)
class Tool:
    name: str
    description: str
    args: type[BaseModel]
    handler: Handler
    policy: Policy
    prepare: Prepare | None = None
