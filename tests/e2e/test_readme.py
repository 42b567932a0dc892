"""Every bot.toml example in the README is a valid bot: the docs cannot drift from the code."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bots.fleet import load_bot
from tests.e2e.procs import REPO

BLOCKS = re.findall(r"```toml\n(.*?)```", (REPO / "README.md").read_text(), re.S)
ENV_NAMES = re.findall(r'"(KITH_[A-Z0-9_]+)"', "".join(BLOCKS))  # token_env, headers_env


@pytest.mark.parametrize("block", BLOCKS, ids=[f"example-{i}" for i in range(len(BLOCKS))])
def test_readme_example_is_a_valid_bot(
    block: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ENV_NAMES:
        monkeypatch.setenv(name, "a-placeholder-secret-1234")
    directory = tmp_path / "kith"
    directory.mkdir()
    (directory / "bot.toml").write_text(block)
    (directory / "persona.md").write_text("You are Kith.")
    bot = load_bot(directory)
    assert bot.channels


def test_readme_has_examples_for_every_channel() -> None:
    tables = set(re.findall(r"^\[channels\.(\w+)\]", "".join(BLOCKS), re.M))
    from bots.registry import known_channels

    assert tables == set(known_channels())
