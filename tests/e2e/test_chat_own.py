"""``kith chat`` answers its own conversation, not other channels' held messages."""

from __future__ import annotations

import asyncio
from pathlib import Path

from core.events import Addressed, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.store.sqlite import SQLiteStore
from tests.e2e.procs import run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import write_bot


async def _held_web_message(db: Path) -> None:
    store = SQLiteStore(db)
    await store.open()
    try:
        await store.record_inbound(Inbound(
            id="web:kith:someone:1", conversation=ConversationKey("kith", "web", "someone"),
            sender=Sender("someone", "Someone"), text="a question on the page",
            trust=Trust.OWNER, addressed=Addressed.DIRECT, chat=ChatKind.DIRECT))
        assert [i.id for i in await store.pending()] == ["web:kith:someone:1"]
    finally:
        await store.close()


def test_kith_chat_leaves_the_pages_held_message_alone(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    (tmp_path / "data").mkdir(mode=0o700)
    asyncio.run(_held_web_message(tmp_path / "data" / "kith.sqlite3"))
    fake = FakeLLM(reply="Hi from the terminal.")
    with running_fake_llm_sync(fake) as url:
        done = run_kith(tmp_path, "chat", stdin="hello\n", KITH_LLM__BASE_URLS=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hi from the terminal.\n"
    assert len(fake.chat_requests) == 1  # only the terminal's own message was answered
    assert fake.chat_requests[0]["messages"][-1]["content"].endswith("hello")
    asyncio.run(_still_held(tmp_path / "data" / "kith.sqlite3"))


async def _still_held(db: Path) -> None:
    store = SQLiteStore(db)
    await store.open()
    try:
        assert "web:kith:someone:1" in [i.id for i in await store.pending()]
    finally:
        await store.close()
