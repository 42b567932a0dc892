"""``kith chat``: talk to a bot from the terminal, interactively or through a pipe.

In a terminal the prompt has line editing and history (the standard library's ``readline``,
kept in ``<data_dir>/chat_history``) and replies render as Markdown while they stream
(rich). Through a pipe, replies are plain text on stdout and the exit code says whether a
model answered.
"""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from adapters.terminal import Terminal, to_inbound
from bots.fleet import BotDefinition
from bots.runtime import Kith
from core.events import ReplyStatus
from core.llm import ChatModel, endpoint_label
from core.settings import ConfigError, Settings
from core.text import decode

FAILED = {ReplyStatus.FAILED, ReplyStatus.INTERRUPTED}
LEAVE_WAIT = 2.0  # seconds Ctrl-D / end of input waits for Kith to close


class LineEditor:
    """``input()`` with readline history, on a daemon thread so Ctrl-C never waits for Enter."""

    def __init__(self, history: Path) -> None:
        self.history = history
        reconfigure = getattr(sys.stdin, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")  # typed bytes that are not UTF-8 become U+FFFD
        try:
            import readline
        except ImportError:  # not every platform has it: plain input still works
            self.readline: Any = None
            return
        self.readline = readline
        readline.set_history_length(1000)
        if history.is_file():
            readline.read_history_file(history)

    async def read(self, prompt: str) -> str | None:
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        loop = asyncio.get_running_loop()

        def run() -> None:
            try:
                line: str | None = input(prompt)
            except EOFError:
                line = None
            loop.call_soon_threadsafe(future.set_result, line)

        threading.Thread(target=run, daemon=True, name="kith-input").start()
        line = await future
        if line and self.readline is not None:
            self.history.parent.mkdir(parents=True, exist_ok=True)
            self.readline.write_history_file(self.history)
        return line


class MarkdownOut:
    """A stdout for the terminal channel that re-renders the streamed reply as Markdown."""

    def __init__(self) -> None:
        from rich.console import Console

        self.console = Console()
        self.text = ""
        self.live: Any = None

    def write(self, piece: str) -> int:
        from rich.live import Live
        from rich.markdown import Markdown

        self.text += piece
        if self.live is None:
            self.live = Live(console=self.console, refresh_per_second=10,
                             vertical_overflow="visible")
            self.live.start()
        self.live.update(Markdown(self.text.strip()))
        return len(piece)

    def flush(self) -> None:
        return None

    def finish(self) -> None:
        if self.live is not None:
            self.live.stop()
        self.live, self.text = None, ""


async def _piped_line() -> str | None:
    line = await asyncio.to_thread(sys.stdin.buffer.readline)
    return decode(line) if line else None  # bytes that are not UTF-8 become U+FFFD


def _failure_line(settings: Settings, describe: str | None) -> str:
    if describe is None or settings.llm.configured:
        urls = ", ".join(endpoint_label(url) for url in settings.llm.base_urls)
        return (f"kith: no language model answered at {urls}. Is the server running? "
                "`kith check` tells more.")
    return f"kith: no language model answered ({describe}). `kith check` tells more."


async def run_chat(settings: Settings, fleet: list[BotDefinition], bot_name: str | None,
                   session: str | None, *, model: ChatModel | None = None,
                   describe: str | None = None) -> int:
    names = [b.profile.name for b in fleet if "terminal" in b.channels]
    if not names:
        raise ConfigError("no bot has a [channels.terminal] table; add one to use kith chat")
    name = bot_name or names[0]
    if name not in names:
        raise ConfigError(f"--bot: no bot named '{name}' with a terminal channel "
                          f"(have: {', '.join(names)})")
    interactive = sys.stdin.isatty()
    session = session or ("terminal" if interactive else f"pipe-{uuid.uuid4().hex[:12]}")
    kith = Kith(settings, [b for b in fleet if b.profile.name == name], channels={"terminal"},
                model=model)
    await kith.start()
    terminal = kith.channels[(name, "terminal")]
    assert isinstance(terminal, Terminal)
    editor = LineEditor(settings.data_dir / "chat_history") if interactive else None
    screen = MarkdownOut() if interactive and sys.stdout.isatty() else None
    if screen is not None:
        terminal.out = screen  # write/flush is all the terminal channel uses
    failures = 0
    number = time.time_ns() // 1000
    try:
        if interactive:
            print(f"Talking with {name}"
                  + (f" ({describe})" if describe else "")
                  + ". /help lists commands; Ctrl-D leaves.")
        while (line := await (editor.read("> ") if editor else _piped_line())) is not None:
            text = line.strip()
            if not text:
                continue
            number += 1
            inbound = to_inbound(name, session, number, text)
            done = terminal.expect(inbound.id)
            await kith.dispatcher.submit(inbound)
            status = await done
            if screen is not None:
                screen.finish()
            if status in FAILED:
                failures += 1
                print(_failure_line(settings, describe), file=sys.stderr)
    finally:
        await _leave(kith, 1 if failures and not interactive else 0)
    return 1 if failures and not interactive else 0


async def _leave(kith: Kith, code: int) -> None:
    """Leaving never waits long for background work: extraction is durable (it resumes on
    the next start) and a summary is made later. What is committed is on disk; when closing
    takes more than :data:`LEAVE_WAIT` (a local model still reading a long prompt cannot stop
    mid-batch), the process ends there."""
    await kith.agent.learner.close()
    kith.agent.drop_background()
    stopping = asyncio.ensure_future(kith.stop())
    done, _ = await asyncio.wait({stopping}, timeout=LEAVE_WAIT)
    if not done:
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    await stopping
