"""The embedded model behind Kith's real paths: ``kith chat`` through a pipe, the web chat."""

from __future__ import annotations

from pathlib import Path

import httpx

from core.local.catalog import LocalModel
from core.local.embedded import EmbeddedModel
from tests.e2e.procs import run_kith
from tests.support import make_settings, running_gateway, running_kith, write_bot


def test_piped_kith_chat_answers_with_the_embedded_model(tmp_path: Path, smollm2: Path) -> None:
    write_bot(tmp_path / "bots")
    done = run_kith(tmp_path, "chat", stdin="Hello!\nAnd again.\n",
                    KITH_LLM__LOCAL_MODEL=str(smollm2), KITH_LLM__MAX_REPLY_TOKENS="16")
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    replies = [line for line in done.stdout.split("\n") if line.strip()]
    assert len(replies) >= 2  # two answers (a 135M model's wording is not the point)


async def test_web_chat_streams_from_the_embedded_model(tmp_path: Path, smollm2: Path) -> None:
    write_bot(tmp_path / "bots")
    settings = make_settings(tmp_path, "http://127.0.0.1:9/v1",
                             llm={"max_reply_tokens": 24, "local_context": 4096})
    model = EmbeddedModel(LocalModel("smollm2", smollm2, None), settings.llm,
                          show_progress=False)
    async with running_kith(settings, model=model) as kith, running_gateway(kith) as base, \
            httpx.AsyncClient(timeout=60) as client:
        assert (await client.get(f"{base}/api/model")).json()["state"] in ("loading", "ready")
        pieces: list[str] = []
        async with client.stream("POST", f"{base}/chat/kith/send",
                                 json={"session": "embedded-0001", "text": "Hi!"}) as reply:
            assert reply.status_code == 200
            pieces = [p async for p in reply.aiter_text() if p]
        assert len(pieces) >= 2 and "".join(pieces).strip()
        status = (await client.get(f"{base}/api/model")).json()
        assert status == {"state": "ready", "model": "smollm2", "done_bytes": 0,
                          "total_bytes": None, "percent": None, "error": None, "queued": 0}
        ready = await client.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["llm"] == {"embedded:smollm2": "ok"}
