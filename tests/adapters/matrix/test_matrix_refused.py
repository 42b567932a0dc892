"""A refused Matrix login disables that channel with one clear log line; the rest runs."""

from __future__ import annotations

import os
from pathlib import Path

from structlog.testing import capture_logs

from tests.adapters.matrix.kit import PASSWORD_ENV, unique
from tests.adapters.matrix.synapse import Synapse
from tests.fakes.llm import FakeLLM
from tests.support import make_settings, running_kith, write_bot


async def test_a_refused_login_disables_only_that_channel(
        synapse: Synapse, tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    user_id = synapse.register(unique("refused"), "the-right-password")
    os.environ[PASSWORD_ENV] = "a-wrong-password"
    settings = make_settings(tmp_path, fake_llm[1])
    write_bot(settings.bots_dir, toml=(
        f'[channels.web]\n[channels.matrix]\nhomeserver = "{synapse.url}"\n'
        f'user_id = "{user_id}"\npassword_env = "{PASSWORD_ENV}"\n'))
    with capture_logs() as logs:
        async with running_kith(settings) as kith:
            status = kith.channel_status()
            assert status["web/kith"] == "running"
            assert status["matrix/kith"].startswith("disabled:")
            assert "M_FORBIDDEN" in status["matrix/kith"]
            assert not kith.takes_input("kith", "matrix")
    disabled = [e for e in logs if e["event"] == "channel_disabled"]
    assert len(disabled) == 1 and disabled[0]["channel"] == "matrix"
    assert not [e for e in logs if e["event"] == "channel_start_failed"]
