from __future__ import annotations

from pathlib import Path

from core.settings import Settings
from tests.e2e.procs import run_kith
from tests.fakes.llm import FakeLLM, running_fake_llm_sync
from tests.support import free_port, write_bot

CANARY = "canary-7f3a9c1e5b-Qx8Lw2Zr"  # strong enough to be a web token
KEY_CANARY = "Y2FuYXJ5LWtleS1mb3Ita2l0aHMtdmF1bHQtMzJieXQ="  # 32 bytes, URL-safe base64


def secret_env() -> dict[str, str]:
    """The canary in every SecretStr setting there is (found by walking Settings)."""
    env: dict[str, str] = {}

    def walk(model: type, prefix: str) -> None:
        for name, field in model.model_fields.items():  # type: ignore[attr-defined]
            annotation = str(field.annotation)
            if name == "database_url":  # selects PostgreSQL; its password is tested in
                continue  # tests/e2e/test_postgres_cli.py (unreachable: never shown)
            if name == "secret_key":  # must be a key (32 bytes): a canary of its own
                env[f"{prefix}{name.upper()}"] = KEY_CANARY
            elif "SecretStr" in annotation:
                env[f"{prefix}{name.upper()}"] = CANARY
            elif isinstance(field.annotation, type) and hasattr(field.annotation, "model_fields"):
                walk(field.annotation, f"{prefix}{name.upper()}__")

    walk(Settings, "KITH_")
    return env


def test_every_secret_setting_is_covered() -> None:
    assert {"KITH_LLM__API_KEY", "KITH_GATEWAY__WEBCHAT_TOKEN"} <= set(secret_env())


def test_the_canary_never_appears_in_logs_errors_or_replies(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    env = {**secret_env(), "KITH_LOG_LEVEL": "DEBUG", "KITH_LOG_JSON": "true"}
    fake = FakeLLM()  # echoes the message back
    outputs = []
    with running_fake_llm_sync(fake) as url:
        down = f"http://127.0.0.1:{free_port()}/v1"
        creds = url.replace("http://", f"http://kith:{CANARY}@")
        runs = [
            run_kith(tmp_path, "chat", stdin="hello\n/help\n/prefs\n", KITH_LLM__BASE_URLS=url,
                     **env),
            run_kith(tmp_path, "chat", stdin="hello\n", KITH_LLM__BASE_URLS=down, **env),
            run_kith(tmp_path, "chat", stdin="again\n", KITH_LLM__BASE_URLS=f"{down},{url}",
                     **env),
            run_kith(tmp_path, "check", KITH_LLM__BASE_URLS=f"{url},{down}", **env),
            run_kith(tmp_path, "check", KITH_LLM__BASE_URLS=creds, **env),  # refused, not echoed
        ]
        outputs = [r.stdout + r.stderr for r in runs]
    assert [r.returncode for r in runs] == [0, 1, 0, 0, 2]
    assert "must not carry credentials" in runs[4].stderr
    assert any('"level": "debug"' in out for out in outputs)  # DEBUG really was on
    assert any("llm_endpoint_failed" in out for out in outputs)  # error paths were logged
    for out in outputs:
        assert CANARY not in out and KEY_CANARY not in out
    assert fake.chat_requests and all(CANARY not in str(r["messages"])
                                      for r in fake.chat_requests)
    auth = [r.headers.get("authorization", "") for r in fake.requests]
    assert any(CANARY in a for a in auth)  # the key really was in use, just never shown
    data = (tmp_path / "data" / "kith.sqlite3").read_bytes()
    assert CANARY.encode() not in data
