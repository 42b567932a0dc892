"""Finding a local server: fake Ollama / LM Studio / vLLM servers on free loopback ports."""

from __future__ import annotations

import sys
from pathlib import Path

from core.local.detect import Candidate, find_server
from tests.e2e.procs import kith_env, run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1].split("/")[0])


async def test_the_first_server_that_serves_a_model_wins() -> None:
    with running_fake_llm_sync(FakeLLM(models=["qwen-lms"])) as lms, \
            running_fake_llm_sync(FakeLLM(models=["meta-llama/Llama-3.2-3B-Instruct"])) as vllm:
        candidates = [Candidate("ollama", "127.0.0.1", free_port()),
                      Candidate("lmstudio", "127.0.0.1", port_of(lms)),
                      Candidate("vllm", "127.0.0.1", port_of(vllm))]
        found, notes = await find_server(candidates)
        assert found is not None and found.candidate.name == "lmstudio"
        assert found.describe() == f"LM Studio at 127.0.0.1:{port_of(lms)}, model qwen-lms"
        assert notes == []
        # a configured model only a later server serves: that one, and the first is named
        found, notes = await find_server(candidates, "meta-llama/Llama-3.2-3B-Instruct")
        assert found is not None and found.candidate.name == "vllm"
        assert found.candidate.base_url == vllm
        assert notes == [f"LM Studio at 127.0.0.1:{port_of(lms)} answers but serves qwen-lms, "
                         "not meta-llama/Llama-3.2-3B-Instruct"]


async def test_a_server_without_models_is_passed_over() -> None:
    empty = FakeLLM()
    empty.models = []
    with running_fake_llm_sync(empty) as ollama:
        found, notes = await find_server([Candidate("ollama", "127.0.0.1", port_of(ollama))])
    assert found is None
    assert notes == [f"Ollama at 127.0.0.1:{port_of(ollama)} answers but serves no models"]


async def test_nothing_answers() -> None:
    found, notes = await find_server([Candidate("ollama", "127.0.0.1", free_port()),
                                      Candidate("vllm", "127.0.0.1", free_port())])
    assert found is None and notes == []


def test_chat_and_check_use_the_server_found_and_name_it(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    fake = FakeLLM(reply="Hi from Ollama.", models=["llama3.2:latest"])
    with running_fake_llm_sync(fake) as url:
        servers = f"ollama=127.0.0.1:{port_of(url)},vllm=127.0.0.1:{free_port()}"
        check = run_kith(tmp_path, "check", KITH_LLM__LOCAL_SERVERS=servers)
        chat = run_kith(tmp_path, "chat", stdin="hello\n", KITH_LLM__LOCAL_SERVERS=servers)
    assert check.returncode == 0, check.stderr
    assert f"llm: found Ollama at 127.0.0.1:{port_of(url)}, model llama3.2:latest" in check.stdout
    assert chat.returncode == 0, chat.stderr
    assert chat.stdout == "Hi from Ollama.\n"
    assert fake.chat_requests[0]["model"] == "llama3.2:latest"


def test_no_server_means_the_embedded_model(tmp_path: Path, smollm2: Path) -> None:
    write_bot(tmp_path / "bots")
    servers = f"ollama=127.0.0.1:{free_port()}"
    done = run_kith(tmp_path, "check", KITH_LLM__LOCAL_SERVERS=servers,
                    KITH_LLM__LOCAL_MODEL=str(smollm2))
    assert done.returncode == 0, done.stderr
    assert f"llm: {smollm2.stem} on llama.cpp in this process, at {smollm2}" in done.stdout


def test_no_server_and_no_llama_cpp_says_the_two_ways_forward(tmp_path: Path) -> None:
    import subprocess

    write_bot(tmp_path / "bots")
    code = ("import sys; sys.modules['llama_cpp'] = None  # as if kith[local] were not installed\n"
            "from bots.cli import main; sys.exit(main(['chat']))")
    env = kith_env(tmp_path, KITH_LLM__LOCAL_SERVERS=f"ollama=127.0.0.1:{free_port()}")
    done = subprocess.run([sys.executable, "-c", code], input="hi\n", capture_output=True,
                          text=True, env=env, cwd=tmp_path, timeout=60, check=False)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert "no local model server answered (ollama " in lines[0]
    assert "start Ollama, LM Studio, vLLM or llama.cpp's server" in lines[0]
    assert "pip install 'kith[local]'" in lines[0]
