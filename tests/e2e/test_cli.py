from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.e2e.procs import KITH, REPO, kith_env, run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot


def run_bytes(tmp_path: Path, stdin: bytes, **env: str) -> subprocess.CompletedProcess[bytes]:
    return subprocess.run([*KITH, "chat"], input=stdin, capture_output=True, timeout=60,
                          env=kith_env(tmp_path, **env), cwd=tmp_path, check=False)


def test_piped_chat_prints_the_reply_and_exits_zero(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    fake = FakeLLM(reply="Hello! How can I help?")
    with running_fake_llm_sync(fake) as url:
        done = run_kith(tmp_path, "chat", stdin="hello\n", KITH_LLM__BASE_URLS=url)
    assert done.returncode == 0, done.stderr
    assert done.stdout == "Hello! How can I help?\n"
    assert fake.chat_requests[0]["messages"][-1]["content"].endswith("hello")


def test_piped_chat_without_a_model_says_so_and_fails(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    url = f"http://127.0.0.1:{free_port()}/v1"
    done = run_kith(tmp_path, "chat", stdin="hello\n", KITH_LLM__BASE_URLS=url)
    assert done.returncode == 1
    assert "can't reach my language model" in done.stdout
    assert f"no language model answered at {url.removeprefix('http://')}" in done.stderr


def test_check_lists_endpoints(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    down = f"http://127.0.0.1:{free_port()}/v1"
    with running_fake_llm_sync(FakeLLM()) as url:
        done = run_kith(tmp_path, "check", KITH_LLM__BASE_URLS=f"{url},{down}")
    assert done.returncode == 0, done.stderr
    assert "answers, serving llama-test — but not meta-llama/Llama-3.1-8B-Instruct" in done.stdout
    assert "does not answer" in done.stdout
    assert "bot kith: channels web, terminal" in done.stdout
    assert "web: off — set KITH_WEB__SEARCH_URL to your SearXNG" in done.stdout


def test_check_starts_each_mcp_server(tmp_path: Path) -> None:
    """kith check lists what each MCP server offers, and says why one does not start."""
    write_bot(tmp_path / "bots", toml=(
        "[channels.web]\n"
        "[mcp.home]\n"
        f"command = ['{sys.executable}', '-m', 'tests.fakes.mcp_server', 'stdio']\n"
        f"env = {{ PYTHONPATH = '{REPO}' }}\n"
        "[mcp.broken]\ncommand = ['/nonexistent/mcp-server']\n"))
    with running_fake_llm_sync(FakeLLM()) as url:
        done = run_kith(tmp_path, "check", KITH_LLM__BASE_URLS=url, timeout=120)
    assert done.returncode == 0, done.stderr
    assert ("mcp kith/home: 6 tools (2 with side effects): home__lookup_note, "
            "home__set_light, home__slow_answer, home__crash, home__garble, "
            "home__add_thermostat") in done.stdout
    assert "mcp kith/broken: no tools — " in done.stdout


BAD_CONFIGS = {
    "unknown channel": (
        "[channels.telegrm]\n", {}, "channels.telegrm: unknown channel 'telegrm'"),
    "bad setting value": (
        "[channels.web]\n", {"KITH_LLM__TIMEOUT": "soon"}, "KITH_LLM__TIMEOUT:"),
    "missing token env var": (
        "[channels.telegram]\ntoken_env = 'KITH_TEST_NO_SUCH_TOKEN'\nmode = 'polling'\n", {},
        "channels.telegram.token_env: Value error, environment variable "
        "KITH_TEST_NO_SUCH_TOKEN is not set"),
    "search url not a url": (
        "[channels.web]\n", {"KITH_WEB__SEARCH_URL": "searx.lan:8888"},
        "KITH_WEB__SEARCH_URL: Value error, 'searx.lan:8888' is not an http(s) URL"),
    "unknown tool": ("tools = ['web_serch']\n[channels.web]\n", {},
                     "tools: Value error, unknown tool 'web_serch'"),
    "mcp server with two transports": (
        "[mcp.home]\ncommand = ['home-mcp']\nurl = 'http://127.0.0.1:9/mcp'\n[channels.web]\n",
        {}, "mcp.home: Value error, set either command (stdio) or url (streamable HTTP)"),
    "mcp header variable unset": (
        "[mcp.notes]\nurl = 'http://127.0.0.1:9/mcp'\n"
        "headers_env = { Authorization = 'KITH_TEST_NO_SUCH_MCP_TOKEN' }\n[channels.web]\n",
        {}, "headers_env.Authorization: environment variable KITH_TEST_NO_SUCH_MCP_TOKEN is "
            "not set"),
    "malformed toml": ("[channels.web\n", {}, "not valid TOML"),
    "unknown key": ("colour = 'blue'\n[channels.web]\n", {}, "colour: Extra inputs"),
    "no channel": ("display_name = 'x'\n", {}, "the bot has no enabled channel"),
    "bad base url": ("[channels.web]\n", {"KITH_LLM__BASE_URLS": "localhost:8000"},
                     "KITH_LLM__BASE_URLS: Value error, 'localhost:8000' is not an http(s) URL"),
    "public webchat without token": ("[channels.web]\n", {"KITH_GATEWAY__HOST": "0.0.0.0"},
                                     "KITH_GATEWAY__WEBCHAT_TOKEN: required"),
    "public gateway with an empty token": (  # what compose's env_file passes for KEY=
        "[channels.telegram]\ntoken_env = 'KITH_TEST_TG'\nmode = 'polling'\n",
        {"KITH_GATEWAY__HOST": "0.0.0.0", "KITH_GATEWAY__WEBCHAT_TOKEN": "",
         "KITH_TEST_TG": "123:abc"}, "KITH_GATEWAY__WEBCHAT_TOKEN: required"),
    "public gateway with a short token": (
        "[channels.web]\n", {"KITH_GATEWAY__HOST": "0.0.0.0",
                             "KITH_GATEWAY__WEBCHAT_TOKEN": "hunter2"},
        "KITH_GATEWAY__WEBCHAT_TOKEN: too weak"),
    "a token of one repeated letter": (
        "[channels.web]\n", {"KITH_GATEWAY__HOST": "0.0.0.0",
                             "KITH_GATEWAY__WEBCHAT_TOKEN": "a" * 16},
        "KITH_GATEWAY__WEBCHAT_TOKEN: too weak (about 5 bits; at least 128 needed)"),
    "a public URL and no token on loopback": (  # a tunnel forwards to the loopback port
        "[channels.web]\n", {"KITH_GATEWAY__PUBLIC_URL": "https://kith.example"},
        "KITH_GATEWAY__WEBCHAT_TOKEN: required when a public URL is set"),
    "a channel's public URL and no token": (
        "[channels.telegram]\ntoken_env = 'KITH_TEST_TG'\nmode = 'webhook'\n"
        "webhook_secret_env = 'KITH_TEST_TG_SECRET'\npublic_url = 'https://kith.example'\n",
        {"KITH_TEST_TG": "123:abc", "KITH_TEST_TG_SECRET": "s3cret"},
        "KITH_GATEWAY__WEBCHAT_TOKEN: required when a public URL is set"),
}


@pytest.mark.parametrize("case", sorted(BAD_CONFIGS))
def test_bad_config_is_one_clear_line_and_exit_2(tmp_path: Path, case: str) -> None:
    toml, env, expected = BAD_CONFIGS[case]
    write_bot(tmp_path / "bots", toml=toml)
    done = run_kith(tmp_path, "check", **env)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("kith: config error: ")
    assert expected in lines[0]


def test_invalid_utf8_on_stdin_is_answered_without_a_traceback(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    fake = FakeLLM(reply="Got it.")
    with running_fake_llm_sync(fake) as url:
        done = run_bytes(tmp_path, b"caf\xe9 \xff\xfe ol\xc3\xa1\n", KITH_LLM__BASE_URLS=url)
    assert done.returncode == 0, done.stderr
    assert b"Traceback" not in done.stderr and done.stdout == b"Got it.\n"
    assert fake.chat_requests[0]["messages"][-1]["content"].endswith("caf\ufffd \ufffd\ufffd olá")


def test_kith_token_stores_a_strong_token_that_the_next_start_reads(tmp_path: Path) -> None:
    from adapters.webauth import MIN_BITS, token_bits
    write_bot(tmp_path / "bots")
    (tmp_path / ".env").write_text("KITH_LOG_LEVEL=INFO\n", encoding="utf-8")
    made = run_kith(tmp_path, "token")
    assert made.returncode == 0, made.stderr
    env_file = tmp_path / ".env"
    assert str(env_file) in made.stdout
    assert oct(env_file.stat().st_mode & 0o777) == "0o600"
    lines = env_file.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "KITH_LOG_LEVEL=INFO"  # the rest of the file is kept
    token = lines[1].removeprefix("KITH_GATEWAY__WEBCHAT_TOKEN=")
    assert token_bits(token) >= MIN_BITS and token not in made.stdout
    public = {"KITH_GATEWAY__PUBLIC_URL": "https://kith.example"}
    with running_fake_llm_sync(FakeLLM()) as url:
        done = run_kith(tmp_path, "check", KITH_LLM__BASE_URLS=url, **public)
    assert done.returncode == 0, done.stderr
