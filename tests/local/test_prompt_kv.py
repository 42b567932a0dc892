"""A follow-up turn through Kith reads only what is new, on the real SmolLM2 (issue 21).

The previous message is replayed as it was sent (with its time and recalled memories, kept
with its reply), so the KV prefix left by the previous turn — message, tool steps, reply —
still holds; before, the cached prefix ended before the previous message and every
follow-up re-read the whole previous exchange. (That the prefix survives background work
in between is ``test_kv.py``'s.)

Counts tokens llama.cpp reports reading (``local_prefix``: prompt and reused), never time.
"""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from bots import assembly
from core.dispatch import Dispatcher
from core.local.catalog import LocalModel
from core.local.embedded import EmbeddedModel
from core.memory.service import MemorySettings
from core.profile import BotProfile
from core.settings import LLMSettings
from core.store.sqlite import SQLiteStore
from tests.core.harness import Recorder, message

PERSONA = "You are Kith, a personal assistant. Answer in two or three sentences."


@pytest.mark.timeout(2400)
async def test_a_follow_up_reads_at_most_a_third_of_its_prompt(tmp_path: Path,
                                                                 smollm2: Path) -> None:
    settings = LLMSettings(local_context=4096, max_reply_tokens=48, temperature=0.0,
                           local_threads=1)
    model = EmbeddedModel(LocalModel("smollm2", smollm2, None), settings,
                          show_progress=False, seed=13)
    await model.ready()
    store = SQLiteStore(tmp_path / "k.db")
    await store.open()
    now = [datetime(2026, 12, 7, 9, tzinfo=UTC)]
    agent = assembly.agent(store, model,
                           {"kith": BotProfile("kith", PERSONA, timezone="Europe/Lisbon")},
                           clock=lambda: now[0], memory=MemorySettings(learn=False),
                           reply_tokens=48)
    dispatcher = Dispatcher(store, agent, 8)
    channel = Recorder()
    dispatcher.register("kith", "test", channel)
    said = ["Tell me about the moon in a few sentences.", "And what about the sun?"]
    read: list[list[MutableMapping[str, Any]]] = []
    try:
        for n, text in enumerate(said, 1):
            with capture_logs() as logs:
                await dispatcher.submit(message("a", n, text, received_at=now[0]))
                await dispatcher.join()
            read.append([e for e in logs if e["event"] == "local_prefix"])
            now[0] += timedelta(minutes=1)
    finally:
        await dispatcher.close(grace=2)
        await agent.wait_background()
        await store.close()
        await model.aclose()
    assert len(channel.replies) == 2
    before = read[0][-1]  # the first turn's (last) prompt
    follow = read[1][0]  # the follow-up's prompt, as llama.cpp read it
    fresh = follow["prompt"] - follow["reused"]
    assert follow["reused"] >= before["prompt"], read  # the whole first exchange was kept
    assert fresh <= follow["prompt"] / 3, read
