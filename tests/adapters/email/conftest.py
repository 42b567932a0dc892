"""Email test rig: a capturing relay and Dovecot once per session; Kith with an email channel."""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from email.message import EmailMessage
from email.policy import SMTP
from email.utils import make_msgid
from pathlib import Path
from typing import Any

import aiosmtplib
import pytest

from adapters.email import EmailChannel
from bots.runtime import Kith
from tests.adapters.email.servers import (
    Captured,
    DkimKey,
    Dovecot,
    Relay,
    dns_for,
    make_key,
    start_dovecot,
    start_relay,
)
from tests.fakes.llm import FakeLLM
from tests.support import make_settings, running_kith, write_bot

OWNER = "owner@example.com"
KITH = "kith@kith.example"
TRUSTED_RELAY = "mx.trusted.example"
FIXTURES = Path(__file__).parents[2] / "fixtures" / "email"


@pytest.fixture(scope="session")
def relay_server() -> Iterator[Relay]:
    relay, controller = start_relay()
    yield relay
    controller.stop()


@pytest.fixture
def relay(relay_server: Relay) -> Relay:
    relay_server.reset()
    return relay_server


@pytest.fixture(scope="session")
def dovecot() -> Iterator[Dovecot]:
    if shutil.which("dovecot") is None and not Path("/usr/sbin/dovecot").exists():
        pytest.skip("dovecot is not installed (apt-get install dovecot-imapd)")
    server = start_dovecot()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def keys() -> dict[str, DkimKey]:
    """DKIM keys per domain: the owner's and an attacker's own (valid for *their* domain)."""
    return {"example.com": make_key(), "evil.example": make_key()}


def forward(note: str, body: str, *, sender: str = OWNER, subject: str = "Fwd: Lunch",
            original_from: str = "Alice Smith <alice@partner.example>",
            msgid: str | None = None, extra: dict[str, str] | None = None) -> bytes:
    """A Gmail-style forward as raw bytes (unsigned)."""
    message = EmailMessage()
    for name, value in (extra or {}).items():
        message[name] = value
    message["From"] = sender
    message["To"] = KITH
    message["Subject"] = subject
    message["Message-ID"] = msgid or make_msgid(domain="example.com")
    message.set_content(
        f"{note}\n\n---------- Forwarded message ---------\nFrom: {original_from}\n"
        f"Date: Tue, 24 Nov 2026 at 10:02\nSubject: Lunch\nTo: {OWNER}\n\n\n{body}\n"
    )
    return message.as_bytes(policy=SMTP)


@dataclass
class EmailRig:
    kith: Kith
    channel: EmailChannel
    fake: FakeLLM
    relay: Relay
    keys: dict[str, DkimKey]

    def signed(self, raw: bytes, domain: str = "example.com") -> bytes:
        return self.keys[domain].sign(raw, domain)

    async def send(self, raw: bytes, mail_from: str = OWNER) -> None:
        """Deliver to Kith's SMTP listener; returns once Kith answered 250 (handled)."""
        assert self.channel.listener is not None
        await aiosmtplib.send(raw, sender=mail_from, recipients=[KITH], hostname="127.0.0.1",
                              port=self.channel.listener.port, start_tls=False, timeout=30,
                              local_hostname="client.test")

    async def drafts(self, count: int) -> list[Captured]:
        return await asyncio.to_thread(self.relay.wait_for, count)


def email_toml(relay_port: int, *, listen: bool = True, imap: str = "") -> str:
    listen_table = "[channels.email.listen]\nport = 0\n" if listen else ""
    return f"""
        [channels.email]
        owners = ["{OWNER}"]
        address = "{KITH}"
        trusted_authserv_ids = ["{TRUSTED_RELAY}"]
        {listen_table}
        [channels.email.outbound]
        host = "127.0.0.1"
        port = {relay_port}
        security = "none"
        attempts = 3
        backoff = 0.01
        {imap}
    """.replace("\n        ", "\n")


@asynccontextmanager
async def email_rig(tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay,
                    keys: dict[str, DkimKey], toml: str | None = None, **overrides: Any
                    ) -> AsyncIterator[EmailRig]:
    fake, base_url = fake_llm
    settings = make_settings(tmp_path, base_url, **overrides)
    write_bot(settings.bots_dir, toml=toml or email_toml(relay.port))
    async with running_kith(settings, channels=["email"]) as kith:
        channel = kith.channels[("kith", "email")]
        assert isinstance(channel, EmailChannel)
        channel.dnsfunc = dns_for(keys)
        yield EmailRig(kith, channel, fake, relay, keys)


@pytest.fixture
async def rig(tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay,
              keys: dict[str, DkimKey]) -> AsyncIterator[EmailRig]:
    async with email_rig(tmp_path, fake_llm, relay, keys) as built:
        yield built
