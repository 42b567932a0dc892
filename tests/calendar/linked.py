"""A served core whose people link their own calendars (``/calendar connect``) on a real
Radicale, beside the owner's from bot.toml."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import replace
from pathlib import Path

from bots.calendars import FleetCalendars
from bots.fleet import BotDefinition
from core.events import ChatKind, Inbound, Sender, Trust
from core.store.sqlite import SQLiteStore
from core.vault import KEY_FILE, Vault
from tests.calendar.test_caldav import MONDAY
from tests.core.harness import message
from tests.core.tools.harness import ToolCore, tool_core


def said(who: str, chat: str, n: int, text: str, group: bool = False,
         trust: Trust = Trust.ALLOWED) -> Inbound:
    """``who`` (platform id ``user-<who>``, an approved person) says ``text`` in ``chat``."""
    inbound = message(chat, n, text, sender=Sender(f"user-{who}", who.upper()), trust=trust)
    return replace(inbound, chat=ChatKind.GROUP) if group else inbound


@asynccontextmanager
async def linked_core(tmp_path: Path, llm_url: str, bots: list[BotDefinition] | None = None,
                      tools: tuple[str, ...] | None = None) -> AsyncIterator[ToolCore]:
    """A core with calendar linking on (the key file in ``tmp_path``)."""
    made: list[FleetCalendars] = []

    def calendars_of(store: SQLiteStore) -> FleetCalendars:
        made.append(FleetCalendars(bots or [], store.calendar_links,
                                   Vault(None, tmp_path / KEY_FILE)))
        return made[0]

    async with tool_core(tmp_path / "kith.db", llm_url, now=MONDAY, tools=tools,
                         calendars_of=calendars_of) as core:
        try:
            yield core
        finally:
            await made[0].close()


async def link(core: ToolCore, who: str, url: str, user: str, password: str, n: int = 1) -> str:
    """``who`` connects their calendar in their private chat; Kith's answer to the password."""
    asked = await core.send(said(who, who, n, f"/calendar connect {url} {user}"))
    assert "send me the password" in asked, asked
    return await core.send(said(who, who, n + 1, password))
