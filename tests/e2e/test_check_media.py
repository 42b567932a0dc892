"""``kith check`` probes the speech server and names the vision model of every bot."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.e2e.procs import run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.fakes.speech import FakeSpeech, running_fake_speech
from tests.support import free_port, write_bot


async def test_check_probes_speech_and_vision(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    speech = FakeSpeech(model="whisper-test")
    with running_fake_llm_sync(FakeLLM(models=["llama-test", "llama-vision"])) as url:
        async with running_fake_speech(speech) as speech_url:
            done = await asyncio.to_thread(
                run_kith, tmp_path, "check", KITH_LLM__BASE_URLS=url,
                KITH_LLM__VISION_MODEL="llama-vision", KITH_SPEECH__BASE_URL=speech_url,
                KITH_SPEECH__MODEL="whisper-test")
        assert done.returncode == 0, done.stderr
        assert f"speech {speech_url.removeprefix('http://')}: answers, serving whisper-test" \
            in done.stdout
        assert "vision (kith): llama-vision" in done.stdout
        down = f"http://127.0.0.1:{free_port()}/v1"
        done = await asyncio.to_thread(
            run_kith, tmp_path, "check", KITH_LLM__BASE_URLS=url,
            KITH_LLM__VISION_MODEL="llava", KITH_SPEECH__BASE_URL=down,
            KITH_SPEECH__MODEL="whisper-test")
        assert done.returncode == 1
        assert "does not answer" in done.stdout
        assert "vision (kith): llava is not served by any LLM endpoint" in done.stdout
        done = await asyncio.to_thread(run_kith, tmp_path, "check", KITH_LLM__BASE_URLS=url)
    assert done.returncode == 0
    assert "speech: not configured" in done.stdout and "KITH_SPEECH__BASE_URL" in done.stdout
    assert "vision (kith): not configured" in done.stdout
    speech.assert_done()


def test_bad_speech_url_names_the_field(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    done = run_kith(tmp_path, "check", KITH_SPEECH__BASE_URL="https://user:pw@gpu1/v1")
    assert done.returncode == 2
    assert "KITH_SPEECH__BASE_URL" in done.stderr and "pw" not in done.stderr
