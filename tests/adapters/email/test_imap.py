"""IMAP path against a real Dovecot: IDLE and polling, handled flags, the Drafts append."""

from __future__ import annotations

import asyncio
import imaplib
import re
from pathlib import Path

import pytest

from tests.adapters.email.conftest import (
    OWNER,
    EmailRig,
    email_rig,
    email_toml,
    forward,
)
from tests.adapters.email.servers import DkimKey, Dovecot, Relay
from tests.canary import assert_clean, debug_log
from tests.fakes.llm import FakeLLM

PASSWORD_ENV = "EMAIL_TEST_IMAP_PASSWORD"


def _imap(dovecot: Dovecot) -> imaplib.IMAP4:
    client = imaplib.IMAP4("127.0.0.1", dovecot.port, timeout=10)
    client.login(dovecot.user, dovecot.password)
    return client


def _append(dovecot: Dovecot, raw: bytes, mailbox: str = "INBOX") -> None:
    client = _imap(dovecot)
    try:
        client.append(mailbox, None, None, raw)
    finally:
        client.logout()


def _messages(dovecot: Dovecot, mailbox: str, criteria: str) -> list[bytes]:
    client = _imap(dovecot)
    try:
        client.select(f'"{mailbox}"')
        _, found = client.uid("search", None, criteria)
        found_ids = found[0].split() if found and found[0] else []
        out = []
        for uid in found_ids:
            _, data = client.uid("fetch", uid, "(BODY.PEEK[])")
            out.append(bytes(data[0][1]))  # type: ignore[index]
        return out
    finally:
        client.logout()


def _imap_table(dovecot: Dovecot, idle: bool) -> str:
    return (f'[channels.email.imap]\nhost = "127.0.0.1"\nport = {dovecot.port}\nssl = false\n'
            f'username = "{dovecot.user}"\npassword_env = "{PASSWORD_ENV}"\n'
            f"idle = {'true' if idle else 'false'}\npoll_seconds = 0.2\n")


@pytest.mark.parametrize("idle", [True, False], ids=["idle", "polling"])
async def test_mailbox_forward_is_drafted_flagged_and_saved_to_drafts(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay, keys: dict[str, DkimKey],
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch, idle: bool,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    toml = email_toml(relay.port, listen=False, imap=_imap_table(dovecot, idle))
    tag = f"imap-{idle}-{tmp_path.name}"
    async with email_rig(tmp_path, fake_llm, relay, keys, toml) as rig:
        assert rig.channel.watcher is not None
        await asyncio.wait_for(rig.channel.watcher.connected.wait(), 20)
        rig.fake.script([f"Dear Alice, yes. ({tag})"])
        forged = forward("draft it", f"forged {tag}")  # unsigned: must be refused
        await asyncio.to_thread(_append, dovecot, forged)
        good = rig.signed(forward("say yes", f"Lunch on Friday? {tag}",
                                  msgid=f"<{tag}@example.com>"))
        await asyncio.to_thread(_append, dovecot, good)
        [sent] = await rig.drafts(1)
        await _until_flagged(rig, dovecot, tag)
    assert sent.recipients == [OWNER]
    assert rig.channel.rejected == 1
    assert len(rig.fake.chat_requests) == 1
    assert f"Lunch on Friday? {tag}" in rig.fake.chat_requests[0]["messages"][-1]["content"]
    drafts = [m for m in _messages(dovecot, "Drafts", "ALL") if tag.encode() in m]
    assert len(drafts) == 1
    assert re.search(rb"(?m)^To: Alice Smith <alice@partner.example>\r?$", drafts[0])
    assert re.search(rb"(?m)^Subject: Re: Lunch\r?$", drafts[0])


async def _until_flagged(rig: EmailRig, dovecot: Dovecot, tag: str) -> None:
    """Both mails carry $KithHandled (the forged one too: refused once, never retried)."""
    for _ in range(200):
        unhandled = await asyncio.to_thread(_messages, dovecot, "INBOX", "UNKEYWORD $KithHandled")
        if not any(tag.encode() in m for m in unhandled):
            return
        await asyncio.sleep(0.05)
    raise AssertionError("mails were not flagged as handled")


async def test_imap_login_leaves_no_password_in_the_debug_log(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay, keys: dict[str, DkimKey],
    dovecot: Dovecot, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Canary at DEBUG: the IMAP login (and a mail read after it) logs no password."""
    monkeypatch.setenv(PASSWORD_ENV, dovecot.password)
    toml = email_toml(relay.port, listen=False, imap=_imap_table(dovecot, True))
    tag = f"canary-{tmp_path.name}"
    with debug_log() as out:
        async with email_rig(tmp_path, fake_llm, relay, keys, toml) as rig:
            assert rig.channel.watcher is not None
            await asyncio.wait_for(rig.channel.watcher.connected.wait(), 20)
            rig.fake.script([f"Dear Alice, yes. ({tag})"])
            good = rig.signed(forward("say yes", f"Lunch? {tag}", msgid=f"<{tag}@example.com>"))
            await asyncio.to_thread(_append, dovecot, good)
            await rig.drafts(1)
    assert_clean(out, dovecot.password)
