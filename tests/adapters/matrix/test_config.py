"""``[channels.matrix]`` in bot.toml: validated up front, secrets by env var name only."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.matrix.config import MatrixConfig
from bots.fleet import load_bot
from core.settings import ConfigError
from tests.support import write_bot

TOML = """
[channels.matrix]
homeserver = "https://matrix.example.org"
user_id = "@kith:example.org"
{credentials}
allowed_servers = ["example.org"]
owners = ["@me:example.org"]
"""


def test_a_bot_with_matrix_loads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MATRIX_PW", "hunter2")
    bot = load_bot(write_bot(tmp_path, toml=TOML.format(credentials='password_env = "MATRIX_PW"')))
    config = bot.channels["matrix"]
    assert isinstance(config, MatrixConfig)
    assert config.password is not None and config.password.get_secret_value() == "hunter2"
    assert config.unverified_devices == "trust" and config.command_prefix == "!kith"
    assert config.may_invite("@anyone:example.org") and not config.may_invite("@x:evil.net")


@pytest.mark.parametrize(("credentials", "problem"), [
    ("", "password_env or access_token_env"),
    ('password_env = "UNSET_MATRIX_PW"', "UNSET_MATRIX_PW is not set"),
    ('password = "inline-secret"', "password"),
])
def test_bad_matrix_config_is_a_clear_error(tmp_path: Path, credentials: str,
                                            problem: str) -> None:
    with pytest.raises(ConfigError, match=problem) as err:
        load_bot(write_bot(tmp_path, toml=TOML.format(credentials=credentials)))
    assert "inline-secret" not in str(err.value)
