"""kill -9 just before a reminder is due; restart after: delivered once, where it was set."""

from __future__ import annotations

import os
import signal
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from tests.e2e.test_crash import serving
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot

SESSION = "reminder-session-1"
OTHER = "reminder-session-2"


def history(port: int, session: str) -> list[tuple[str, str]]:
    turns = httpx.get(f"http://127.0.0.1:{port}/chat/kith/history",
                      params={"session": session}, timeout=5).json()
    return [(t["role"], t["text"]) for t in turns]


def reminders(port: int, session: str) -> list[str]:
    return [text for role, text in history(port, session)
            if role == "assistant" and text.startswith("⏰")]


def test_kill_9_before_due_delivers_once_after_restart(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots", toml='timezone = "Europe/Lisbon"\n[channels.web]\n')
    fake = FakeLLM(strict=True)
    port = free_port()
    with running_fake_llm_sync(fake) as url:
        with serving(tmp_path, url, port) as proc:
            due = (datetime.now(UTC) + timedelta(seconds=3)).replace(microsecond=0)
            fake.script_tool_call("create_reminder", {"text": "stretch your legs",
                                                      "when": due.isoformat()})
            fake.script(["Sure."])
            for session, text in ((OTHER, "/reminders"), (SESSION, "remind me to stretch")):
                httpx.post(f"http://127.0.0.1:{port}/chat/kith/send", timeout=30,
                           json={"session": session, "text": text}).raise_for_status()
            assert fake.unconsumed == 0
            time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() - 1.0))
            assert reminders(port, SESSION) == []
            os.kill(proc.pid, signal.SIGKILL)  # one second before it is due
            proc.wait(timeout=10)
        time.sleep(max(0.0, (due - datetime.now(UTC)).total_seconds() + 1.0))
        with serving(tmp_path, url, port):
            deadline = time.monotonic() + 20
            while not reminders(port, SESSION) and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.5)  # a second delivery would show up by now
            [delivered] = reminders(port, SESSION)
        with serving(tmp_path, url, port):  # a third start delivers nothing again
            time.sleep(1.0)
            assert reminders(port, SESSION) == [delivered]
            assert reminders(port, OTHER) == []
    local = due.astimezone(__import__("zoneinfo").ZoneInfo("Europe/Lisbon"))
    assert delivered.startswith("⏰ Reminder: stretch your legs")
    assert f"{local:%H:%M} Lisbon time" in delivered
    assert fake.unexpected == 0 and len(fake.chat_requests) == 2  # the reminder cost no call
