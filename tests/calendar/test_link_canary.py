"""Issue #25 test 7: the credentials of a calendar linked with /calendar connect over
Telegram are in no log line (DEBUG, the SDKs' too), no model request and no /export; the
password message is deleted on Telegram; the password is never in the database file's
bytes, and after /calendar disconnect its sealed form is gone from them too."""

from __future__ import annotations

import base64
import copy
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from bots import preflight
from tests.adapters.telegram.rig import FRIEND, SECRET, fixture, make_rig
from tests.calendar.radicale import Radicale
from tests.calendar.test_links import DENTIST
from tests.canary import assert_clean, debug_log
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import TOKEN


def from_friend(message_id: int, text: str) -> dict[str, Any]:
    update = copy.deepcopy(fixture("private_text"))
    update.pop("update_id")
    message = update["message"]
    message["message_id"] = message_id
    message["from"] = {**message["from"], "id": FRIEND, "first_name": "Bea", "username": "bea"}
    message["chat"] = {**message["chat"], "id": FRIEND, "first_name": "Bea", "username": "bea"}
    message["text"] = text
    return update


def data_bytes(root: Path) -> bytes:
    """Every byte Kith keeps on disk under its data directory (database, WAL, state)."""
    return b"".join(p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file())


async def test_linked_calendar_credentials_leak_nowhere_and_disconnect_deletes_them(
        tmp_path: Path, radicale: Radicale, fake_llm: tuple[FakeLLM, str],
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TG_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("TG_TEST_SECRET", SECRET)
    user, password = radicale.user()  # a random password: the canary
    radicale.calendar(user, password).save_event(DENTIST)
    basic = base64.b64encode(f"{user}:{password}".encode()).decode()
    data = tmp_path / "data"
    with debug_log() as out:
        async with make_rig(tmp_path, *fake_llm)() as rig:
            await rig.send(from_friend(21, f"/calendar connect {radicale.url} {user}"))
            assert "send me the password" in rig.bot_api.chat_texts(FRIEND)[-1]
            await rig.send(from_friend(22, password))
            answer = rig.bot_api.chat_texts(FRIEND)[-1]
            assert answer.startswith("Connected") and "I deleted your message" in answer
            assert (FRIEND, 22) in rig.bot_api.deleted
            await rig.send(from_friend(23, "/agenda 2027-03-30"))
            assert "Bea's dentist" in rig.bot_api.chat_texts(FRIEND)[-1]  # in UTC: no zone set
            before = len(rig.bot_api.chat_texts(FRIEND))
            await rig.send(from_friend(24, "/export"))
            exported = "".join(rig.bot_api.chat_texts(FRIEND)[before:])
            assert user in exported and password not in exported
            db = sqlite3.connect(data / preflight.DB_NAME)
            [(sealed,)] = db.execute("SELECT sealed FROM calendar_links").fetchall()
            db.close()
            assert password.encode() not in data_bytes(data)
            assert bytes(sealed) in data_bytes(data)  # the check below can see it
            await rig.send(from_friend(25, "/calendar disconnect"))
            assert rig.bot_api.chat_texts(FRIEND)[-1].startswith("Disconnected")
            assert bytes(sealed) not in data_bytes(data)
            assert password.encode() not in data_bytes(data)
            assert all(password not in str(r) for r in rig.llm.chat_requests)
    assert_clean(out, password, basic)
