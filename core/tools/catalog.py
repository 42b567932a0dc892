"""Every tool Kith has, by name; ``bot.toml``'s ``tools`` picks a bot's set (default: all).

Built-in tools are always there. Tools that need configuration — the web tools (a search
URL), a bot's MCP servers — come and go: :class:`Toolbox` holds each bot's registry and
rebuilds it when a source's tools change (an MCP server lists new tools, or restarts).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence

from core.tools import calendar, calendar_plan, lists, memory, reminders, web
from core.tools.base import Tool
from core.tools.registry import Registry

ALL: dict[str, Tool] = {tool.name: tool for tool in (
    reminders.CREATE, reminders.REPEAT, reminders.LIST, reminders.CANCEL,
    lists.ADD, lists.SHOW, lists.DONE,
    memory.REMEMBER, memory.FORGET,
    calendar.AGENDA, calendar.FREE_TIME, calendar.CREATE_EVENT, calendar.MOVE_EVENT,
    calendar.CANCEL_EVENT, calendar_plan.PLAN_WEEK,
)}
# Tools that need something the owner configures (a calendar) are not in the default set:
# a bot with ``[calendar]`` in bot.toml gets them (bots/fleet.py).
CALENDAR: tuple[str, ...] = tuple(t.name for t in (
    calendar.AGENDA, calendar.FREE_TIME, calendar.CREATE_EVENT, calendar.MOVE_EVENT,
    calendar.CANCEL_EVENT, calendar_plan.PLAN_WEEK))
DEFAULT: tuple[str, ...] = tuple(name for name in ALL if name not in CALENDAR)
CONFIGURED: tuple[str, ...] = web.NAMES  # offered when configured; bot.toml may name them


def registry(names: Iterable[str] | None = None) -> Registry:
    """The registry of the named built-in tools; unknown names raise KeyError."""
    chosen = DEFAULT if names is None else [n for n in names if n not in CONFIGURED]
    return Registry(ALL[name] for name in chosen)


class Toolbox(Mapping[str, Registry]):
    """Each bot's registry: its built-in tools, then each source's tools in source order.

    ``names`` (from ``bot.toml``) also filters configured tools by name; MCP tools are
    configured per bot in the first place and are never filtered by it."""

    def __init__(self, bots: Mapping[str, tuple[str, ...] | None]) -> None:
        self._names = dict(bots)
        self._sources: dict[str, dict[str, tuple[Tool, ...]]] = {b: {} for b in bots}
        self._registries = {b: registry(names) for b, names in bots.items()}

    def set(self, bot: str, source: str, tools: Sequence[Tool], *, by_name: bool = False
            ) -> None:
        """Replace what ``source`` offers ``bot``; ``by_name``: bot.toml's list applies."""
        names = self._names[bot]
        if by_name and names is not None:
            tools = [t for t in tools if t.name in names]
        self._sources[bot][source] = tuple(tools)
        extra = [t for source_tools in self._sources[bot].values() for t in source_tools]
        self._registries[bot] = Registry([*registry(names).tools.values(), *extra])

    def __getitem__(self, bot: str) -> Registry:
        return self._registries[bot]

    def __iter__(self) -> Iterator[str]:
        return iter(self._registries)

    def __len__(self) -> int:
        return len(self._registries)
