"""The vault that seals linked calendars' passwords, and the links' storage on both
backends (SQLite and a real PostgreSQL): asking, consuming (the inbox text scrubbed in the
same transaction), unlinking."""

from __future__ import annotations

import base64
import os
import stat
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bots.runtime import secret_vault
from core.calendar.links import SCRUBBED, Asking, Link
from core.events import ConversationKey
from core.settings import ConfigError
from core.store.base import Store
from core.store.sqlite import SQLiteStore
from core.vault import KEY_FILE, KeyProblem, Vault, VaultError
from tests.core.harness import message
from tests.e2e.procs import run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import make_settings, write_bot

NOW = datetime(2027, 3, 29, 8, 0, tzinfo=UTC)


def test_the_key_file_is_made_0600_on_first_use_and_seals_per_purpose(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEY_FILE
    vault = Vault(None, path)
    assert not path.exists()  # made when first needed
    sealed = vault.seal("hunter2", "calendar:p1")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"hunter2" not in sealed
    assert Vault(None, path).open(sealed, "calendar:p1") == "hunter2"  # the same key again
    with pytest.raises(VaultError):  # copied into another person's row, it does not open
        vault.open(sealed, "calendar:p2")
    with pytest.raises(VaultError):  # nor under another key
        Vault(base64.urlsafe_b64encode(os.urandom(32)).decode(), path).open(
            sealed, "calendar:p1")


def test_a_key_file_others_may_read_is_refused_in_one_line(tmp_path: Path) -> None:
    path = tmp_path / "data" / KEY_FILE
    Vault(None, path).seal("x", "y")
    path.chmod(0o644)
    with pytest.raises(KeyProblem) as err:
        Vault(None, path)
    assert str(err.value) == (f"{path}: permissions 0644 are too open for Kith's secret key "
                              f"(chmod 600 {path})")
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1")
    with pytest.raises(ConfigError, match="too open"):  # start refuses: exit 2
        secret_vault(settings)


def test_kith_secret_key_must_be_32_bytes(tmp_path: Path) -> None:
    with pytest.raises(KeyProblem, match=r"^KITH_SECRET_KEY: must be 32 random bytes"):
        Vault("too-short", tmp_path / KEY_FILE)
    key = base64.urlsafe_b64encode(os.urandom(32)).decode()
    vault = Vault(key, tmp_path / KEY_FILE)
    assert vault.open(vault.seal("s", "p"), "p") == "s"
    assert not (tmp_path / KEY_FILE).exists()  # a key from the environment: no file


@pytest.fixture(params=["sqlite", "postgres"])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Store]:
    if request.param == "sqlite":
        opened: Store = SQLiteStore(tmp_path / "kith.db")
    else:
        from core.store.postgres.store import PostgresStore
        opened = PostgresStore(request.getfixturevalue("pg_url"))
    await opened.open()
    try:
        yield opened
    finally:
        await opened.close()


async def test_links_ask_consume_and_unlink(store: Store) -> None:
    links = store.calendar_links
    assert await links.asking("p1") is None and await links.link("p1") is None
    chat = ConversationKey("kith", "test", "b")
    await links.ask(Asking("p1", chat, "https://dav.example/", "bea", NOW))
    assert (await links.asking("p1")) == Asking("p1", chat, "https://dav.example/", "bea", NOW)
    inbound = message("b", 2, "the-password-canary")
    await store.record_inbound(inbound)
    link = Link("p1", "https://dav.example/", "bea", b"\x00sealed\xff", NOW)
    await links.consume("p1", inbound.id, link)
    assert await links.asking("p1") is None
    assert await links.link("p1") == link
    [kept] = await store.open_in(str(inbound.conversation))
    assert kept.id == inbound.id and kept.text == SCRUBBED  # the rest of it unchanged
    assert kept.conversation == inbound.conversation and kept.sender == inbound.sender
    assert await links.link("p2") is None  # per person
    assert await links.unlink("p1") is True
    assert await links.link("p1") is None
    assert await links.unlink("p1") is False


@pytest.mark.parametrize("command", ["chat", "check"])
def test_kith_refuses_to_start_with_a_loose_key_file(tmp_path: Path, command: str) -> None:
    write_bot(tmp_path / "bots")
    key = tmp_path / "data" / KEY_FILE
    Vault(None, key).seal("x", "y")
    key.chmod(0o640)
    with running_fake_llm_sync(FakeLLM()) as llm:
        run = run_kith(tmp_path, command, KITH_LLM__BASE_URLS=llm)
    assert run.returncode == 2, run.stderr[-2000:]
    assert run.stderr.strip() == (f"kith: config error: {key}: permissions 0640 are too open "
                                  f"for Kith's secret key (chmod 600 {key})")
