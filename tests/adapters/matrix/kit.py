"""Running a Kith bot with only its Matrix channel against the test Synapse."""

from __future__ import annotations

import asyncio
import itertools
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from adapters.matrix.channel import MatrixChannel
from tests.adapters.matrix.people import Human
from tests.adapters.matrix.synapse import Synapse
from tests.support import make_settings, running_kith, write_bot

PASSWORD_ENV = "MATRIX_TEST_BOT_PASSWORD"
PASSWORD = "bot-password"
_numbers = itertools.count(1)


def new_message(request: dict[str, Any]) -> str:
    """The new message at the end of a prompt (after the volatile context)."""
    return str(request["messages"][-1]["content"]).rsplit("[Their message]\n", 1)[-1]


def echo(request: dict[str, Any]) -> str:
    """A fake-LLM reply naming exactly the message it answers."""
    return "You said: " + new_message(request)


def unique(prefix: str) -> str:
    return f"{prefix}{os.getpid()}x{next(_numbers)}"


def bot_toml(synapse: Synapse, user_id: str, allowed: list[str], extra: str = "") -> str:
    quoted = ", ".join(f'"{u}"' for u in allowed)
    return (f'[channels.matrix]\nhomeserver = "{synapse.url}"\nuser_id = "{user_id}"\n'
            f'password_env = "{PASSWORD_ENV}"\nallowed_users = [{quoted}]\n'
            f"edit_interval = 0.05\nsync_timeout_ms = 5000\n{extra}")


@asynccontextmanager
async def running_bot(tmp: Path, llm_url: str, toml: str,
                      **overrides: Any) -> AsyncIterator[MatrixChannel]:
    os.environ[PASSWORD_ENV] = PASSWORD
    settings = make_settings(tmp, llm_url, **overrides)
    write_bot(settings.bots_dir, toml=toml)
    async with running_kith(settings) as kith:
        channel = kith.channels[("kith", "matrix")]
        assert isinstance(channel, MatrixChannel)
        # The first sync is done: from here on, messages count.
        await asyncio.wait_for(channel.wait_batches(1), 30)
        yield channel


@asynccontextmanager
async def human(synapse: Synapse, tmp: Path, name: str,
                sync: bool = True) -> AsyncIterator[Human]:
    user_id = synapse.register(name, "human-password")
    person = Human(synapse.url, user_id, "human-password", tmp / f"store-{name}")
    await person.start(sync=sync)
    try:
        yield person
    finally:
        await person.stop()
