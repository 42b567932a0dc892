"""Every tool Kith has, by name; ``bot.toml``'s ``tools`` picks a bot's set (default: all)."""

from __future__ import annotations

from collections.abc import Iterable

from core.tools import calendar, lists, memory, reminders
from core.tools.base import Tool
from core.tools.registry import Registry

ALL: dict[str, Tool] = {tool.name: tool for tool in (
    reminders.CREATE, reminders.LIST, reminders.CANCEL,
    lists.ADD, lists.SHOW, lists.DONE,
    memory.REMEMBER, memory.FORGET,
    calendar.AGENDA, calendar.FREE_TIME,
)}
# Tools that need something the owner configures (a calendar) are not in the default set:
# a bot with ``[calendar]`` in bot.toml gets them (bots/fleet.py).
CALENDAR: tuple[str, ...] = (calendar.AGENDA.name, calendar.FREE_TIME.name)
DEFAULT: tuple[str, ...] = tuple(name for name in ALL if name not in CALENDAR)


def registry(names: Iterable[str] | None = None) -> Registry:
    """The registry of the named tools; unknown names raise KeyError (checked at load)."""
    return Registry(ALL[name] for name in (DEFAULT if names is None else names))
