"""``kith chat``: talk to a bot from the terminal, interactively or through a pipe."""

from __future__ import annotations

import asyncio
import sys
import time
import uuid

from adapters.terminal import Terminal, to_inbound
from bots.fleet import BotDefinition
from bots.runtime import Kith
from core.events import ReplyStatus
from core.llm import endpoint_label
from core.settings import ConfigError, Settings
from core.text import decode

FAILED = {ReplyStatus.FAILED, ReplyStatus.INTERRUPTED}


async def _read_line(prompt: str, interactive: bool) -> str | None:
    if interactive:
        sys.stdout.write(prompt)
        sys.stdout.flush()
    line = await asyncio.to_thread(sys.stdin.buffer.readline)
    return decode(line) if line else None  # bytes that are not UTF-8 become U+FFFD


async def run_chat(settings: Settings, fleet: list[BotDefinition], bot_name: str | None,
                   session: str | None) -> int:
    names = [b.profile.name for b in fleet if "terminal" in b.channels]
    if not names:
        raise ConfigError("no bot has a [channels.terminal] table; add one to use kith chat")
    name = bot_name or names[0]
    if name not in names:
        raise ConfigError(f"--bot: no bot named '{name}' with a terminal channel "
                          f"(have: {', '.join(names)})")
    interactive = sys.stdin.isatty()
    session = session or ("terminal" if interactive else f"pipe-{uuid.uuid4().hex[:12]}")
    kith = Kith(settings, [b for b in fleet if b.profile.name == name], channels={"terminal"})
    await kith.start()
    terminal = kith.channels[(name, "terminal")]
    assert isinstance(terminal, Terminal)
    failures = 0
    number = time.time_ns() // 1000
    try:
        if interactive:
            print(f"Talking with {name}. /help lists commands; Ctrl-D leaves.")
        while (line := await _read_line("> ", interactive)) is not None:
            text = line.strip()
            if not text:
                continue
            number += 1
            inbound = to_inbound(name, session, number, text)
            done = terminal.expect(inbound.id)
            await kith.dispatcher.submit(inbound)
            if await done in FAILED:
                failures += 1
                urls = ", ".join(endpoint_label(url) for url in settings.llm.base_urls)
                print(f"kith: no language model answered at {urls}. Is the server running? "
                      "`kith check` tells more.", file=sys.stderr)
    finally:
        await kith.stop()
    return 1 if failures and not interactive else 0
