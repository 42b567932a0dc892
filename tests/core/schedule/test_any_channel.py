"""Reminders and lists belong to the person: once linked, every channel sees and cancels them."""

from __future__ import annotations

import re
from pathlib import Path

from core.events import ConversationKey, Sender
from tests.core.harness import message
from tests.core.tools.harness import tool_core
from tests.fakes.llm import FakeLLM


async def test_set_on_one_channel_cancelled_on_another(tmp_path: Path, fake: FakeLLM) -> None:
    def on_web(n: int, text: str):  # type: ignore[no-untyped-def]
        return message("w", n, text, id=f"web:kith:w:{n}",
                       conversation=ConversationKey("kith", "web", "w"),
                       sender=Sender("ana-web", "Ana"))

    async with tool_core(tmp_path / "k.db", fake.base_url or "") as core:
        fake.script_tool_call("create_reminder", {"text": "call the bank",
                                                  "when": "2026-12-03T10:00:00+00:00"})
        fake.script(["Noted."])
        await core.send(message("a", 1, "remind me to call the bank"))
        fake.script_tool_call("list_add", {"list": "packing", "items": ["passport"]})
        fake.script(["Added."])
        await core.send(message("a", 2, "add passport to my packing list"))
        # the account that set them redeems the code: its person is merged into the other
        code = re.search(r"link code is (\w+)", await core.send(on_web(1, "/link")))
        assert code
        assert "Linked" in await core.send(message("a", 3, f"/link {code.group(1)}"))
        listed = await core.send(on_web(2, "/reminders"))
        found = re.search(r"\[(r[0-9a-f]{8})\] call the bank", listed)
        assert found, listed
        assert await core.send(on_web(3, "/lists")) == "packing: passport"
        cancelled = await core.send(on_web(4, f"/reminders cancel {found.group(1)}"))
        assert cancelled.startswith("Cancelled: ")
        assert "You have no reminders" in await core.send(message("a", 4, "/reminders"))
