"""The SMTP listener's optional STARTTLS and AUTH (offered only over TLS)."""

from __future__ import annotations

from pathlib import Path

import aiosmtplib
import pytest

from tests.adapters.email.conftest import KITH, OWNER, email_rig, email_toml, forward
from tests.adapters.email.servers import DkimKey, Relay, self_signed
from tests.fakes.llm import FakeLLM

PASSWORD_ENV = "EMAIL_TEST_SMTP_PASSWORD"


async def test_starttls_and_auth_are_required_when_configured(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str], relay: Relay, keys: dict[str, DkimKey],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PASSWORD_ENV, "s3cret-pass")
    cert, key = self_signed(tmp_path)
    listen = (f'[channels.email.listen]\nport = 0\ntls_cert = "{cert}"\ntls_key = "{key}"\n'
              f'require_starttls = true\nauth_user = "relay"\n'
              f'auth_password_env = "{PASSWORD_ENV}"\n')
    toml = email_toml(relay.port, listen=False, imap=listen)
    async with email_rig(tmp_path, fake_llm, relay, keys, toml) as rig:
        assert rig.channel.listener is not None
        port = rig.channel.listener.port
        raw = rig.signed(forward("ok", "over tls"))
        common = {"sender": OWNER, "recipients": [KITH], "hostname": "127.0.0.1",
                  "port": port, "timeout": 60, "local_hostname": "client.test"}
        with pytest.raises(aiosmtplib.SMTPException):  # plain text: STARTTLS required
            await aiosmtplib.send(raw, start_tls=False, **common)  # type: ignore[arg-type]
        with pytest.raises(aiosmtplib.SMTPException):  # TLS but no AUTH
            await aiosmtplib.send(raw, start_tls=True, validate_certs=False,
                                  **common)  # type: ignore[arg-type]
        with pytest.raises(aiosmtplib.SMTPAuthenticationError):
            await aiosmtplib.send(raw, start_tls=True, validate_certs=False, username="relay",
                                  password="wrong", **common)  # type: ignore[arg-type]
        assert rig.fake.chat_requests == []
        await aiosmtplib.send(raw, start_tls=True, validate_certs=False, username="relay",
                              password="s3cret-pass", **common)  # type: ignore[arg-type]
        [sent] = await rig.drafts(1)
    assert sent.recipients == [OWNER]
