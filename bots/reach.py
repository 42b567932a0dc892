"""The tools that reach outside Kith, composed per bot: the web (when a search URL is set)
and the bot's MCP servers. The runtime builds one :class:`Reach`, hands its toolbox to the
agent, starts it (MCP servers connect in the background; start waits a bounded time for
their first listing) and closes it."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from bots.fleet import BotDefinition
from core.logging import register_secrets
from core.settings import Settings
from core.tools import web
from core.tools.base import Tool
from core.tools.catalog import Toolbox

if TYPE_CHECKING:
    from adapters.mcp.server import Connection
    from adapters.webfetch.web import WebAccess

NO_SEARCH = ("web: off — set KITH_WEB__SEARCH_URL to your SearXNG (e.g. http://127.0.0.1:8888, "
             "with json in search.formats of its settings.yml) to offer web_search and "
             "read_page")


class Reach:
    """The MCP SDK and the page extractor are imported only by a fleet that uses them: they
    cost ``kith serve`` a second of its start (``python -m bench.startup``)."""

    def __init__(self, settings: Settings, fleet: Sequence[BotDefinition]) -> None:
        self.toolbox = Toolbox({bot.profile.name: bot.profile.tools for bot in fleet})
        self.web: WebAccess | None = None
        if settings.web.search_url:
            from adapters.webfetch.fetch import Fetcher
            from adapters.webfetch.web import WebAccess

            fetcher = Fetcher(allow_hosts=frozenset(settings.web.allow_hosts))
            self.web = WebAccess(settings.web.search_url, fetcher)
            for bot in fleet:
                self.toolbox.set(bot.profile.name, "web", web.tools(self.web), by_name=True)
        self.servers: list[Connection] = []
        for bot in fleet:
            for name, config in bot.mcp.items():
                from adapters.mcp.server import Connection

                register_secrets(config.secrets())
                self.servers.append(Connection(name, config, self._publisher(bot.profile.name)))

    def _publisher(self, bot: str) -> Callable[[str, Sequence[Tool]], None]:
        def publish(server: str, tools: Sequence[Tool]) -> None:
            self.toolbox.set(bot, f"mcp:{server}", tools)
        return publish

    async def start(self, wait: float | None = None) -> None:
        """Start every MCP server; wait at most ``wait`` seconds (default: their connect
        timeout) for their first listing."""
        for server in self.servers:
            server.start()
        if self.servers:
            from adapters.mcp.server import CONNECT_TIMEOUT

            wait = CONNECT_TIMEOUT if wait is None else wait
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    asyncio.gather(*(s.listed.wait() for s in self.servers)), wait)

    async def aclose(self) -> None:
        await asyncio.gather(*(server.aclose() for server in self.servers))
        if self.web is not None:
            await self.web.aclose()


def web_line(settings: Settings) -> str:
    """What ``kith check`` says about the web tools."""
    if not settings.web.search_url:
        return NO_SEARCH
    allowed = ", ".join(settings.web.allow_hosts) or "none"
    return (f"web: web_search via {settings.web.search_url}; read_page refuses private "
            f"addresses (allowed hosts: {allowed})")


async def mcp_lines(fleet: Sequence[BotDefinition]) -> list[str]:
    """What ``kith check`` says about each bot's MCP servers: started, and their tools."""
    from adapters.mcp.server import CONNECT_TIMEOUT, Connection

    checks = [(bot.profile.name, Connection(name, config, lambda _s, _t: None))
              for bot in fleet for name, config in bot.mcp.items()]
    for _bot, server in checks:
        server.start()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(asyncio.gather(*(s.listed.wait() for _b, s in checks)),
                               CONNECT_TIMEOUT)
    lines = []
    for bot, server in checks:
        if server.tools:
            actions = sum(t.policy.side_effects for t in server.tools)
            lines.append(f"mcp {bot}/{server.name}: {len(server.tools)} tools ({actions} "
                         f"with side effects): {', '.join(t.name for t in server.tools)}")
        else:
            lines.append(f"mcp {bot}/{server.name}: no tools — "
                         f"{server.error or 'it did not answer in time'}")
    await asyncio.gather(*(server.aclose() for _b, server in checks))
    return lines
