"""The ``telegram_rig`` fixture: a Kith with a Telegram channel, served for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.adapters.telegram.rig import SECRET, RigFactory, make_rig
from tests.fakes.llm import FakeLLM
from tests.fakes.telegram import TOKEN


@pytest.fixture
def telegram_rig(tmp_path: Path, fake_llm: tuple[FakeLLM, str],
                 monkeypatch: pytest.MonkeyPatch) -> RigFactory:
    monkeypatch.setenv("TG_TEST_TOKEN", TOKEN)
    monkeypatch.setenv("TG_TEST_SECRET", SECRET)
    return make_rig(tmp_path, *fake_llm)
