"""The tools that reach outside Kith, composed per bot: the web (when a search URL is set)
and, later in this file's life, the bot's MCP servers. The runtime and ``kith chat`` build
one :class:`Reach`, hand its toolbox to the agent, start it and close it."""

from __future__ import annotations

from collections.abc import Sequence

from adapters.webfetch.fetch import Fetcher
from adapters.webfetch.web import WebAccess
from bots.fleet import BotDefinition
from core.settings import Settings
from core.tools import web
from core.tools.catalog import Toolbox

NO_SEARCH = ("web: off — set KITH_WEB__SEARCH_URL to your SearXNG (e.g. http://127.0.0.1:8888, "
             "with json in search.formats of its settings.yml) to offer web_search and "
             "read_page")


class Reach:
    def __init__(self, settings: Settings, fleet: Sequence[BotDefinition]) -> None:
        self.toolbox = Toolbox({bot.profile.name: bot.profile.tools for bot in fleet})
        self.web: WebAccess | None = None
        if settings.web.search_url:
            fetcher = Fetcher(allow_hosts=frozenset(settings.web.allow_hosts))
            self.web = WebAccess(settings.web.search_url, fetcher)
            for bot in fleet:
                self.toolbox.set(bot.profile.name, "web", web.tools(self.web), by_name=True)

    async def start(self) -> None:
        return None

    async def aclose(self) -> None:
        if self.web is not None:
            await self.web.aclose()


def web_line(settings: Settings) -> str:
    """What ``kith check`` says about the web tools."""
    if not settings.web.search_url:
        return NO_SEARCH
    allowed = ", ".join(settings.web.allow_hosts) or "none"
    return (f"web: web_search via {settings.web.search_url}; read_page refuses private "
            f"addresses (allowed hosts: {allowed})")
