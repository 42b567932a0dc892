"""bot.toml validation for [channels.email]: clear errors, secrets by env var name only."""

from __future__ import annotations

from pathlib import Path

import pytest

from bots.fleet import load_bot
from core.settings import ConfigError
from tests.support import write_bot


def test_valid_table_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MAIL_PW", "pw")
    directory = write_bot(tmp_path, toml="""
        [channels.email]
        owners = ["me@example.com"]
        address = "kith@example.com"
        [channels.email.imap]
        host = "imap.example.com"
        username = "me"
        password_env = "MAIL_PW"
    """)
    config = load_bot(directory).channels["email"]
    assert config.imap is not None  # type: ignore[attr-defined]
    assert config.imap.password.get_secret_value() == "pw"  # type: ignore[attr-defined]
    assert "pw" not in repr(config)


@pytest.mark.parametrize(("table", "problem"), [
    ('address = "kith@example.com"', "owners"),
    ('owners = []\naddress = "kith@example.com"', "owners"),
    ('owners = ["not-an-address"]\naddress = "kith@example.com"', "owners"),
    ('owners = ["me@example.com"]\naddress = "kith@example.com"\nrecipients = ["x@y.z"]',
     "recipients"),
    ('owners = ["me@example.com"]\naddress = "kith@example.com"\n[channels.email.imap]\n'
     'host = "h"\nusername = "u"\npassword_env = "UNSET_PASSWORD_VAR"', "password"),
])
def test_bad_tables_are_clear_errors(tmp_path: Path, table: str, problem: str) -> None:
    directory = write_bot(tmp_path, toml="[channels.email]\n" + table + "\n")
    with pytest.raises(ConfigError, match=problem):
        load_bot(directory)
