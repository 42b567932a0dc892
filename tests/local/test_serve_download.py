"""``kith serve`` on first run: the page can show the download, and a failed one is honest."""

from __future__ import annotations

import random
import signal
import subprocess
import time
from pathlib import Path

import httpx

from core.local.catalog import CATALOG
from tests.e2e.procs import KITH, kith_env
from tests.fakes.hub import FakeHub, HubFile, running_hub
from tests.local.test_first_run import wait_for_line
from tests.support import free_port, write_bot


def test_serve_reports_the_download_and_then_why_it_failed(tmp_path: Path) -> None:
    write_bot(tmp_path / "bots")
    spec = CATALOG[1]  # the pinned 1B; the fake serves other bytes, so the sha256 refuses it
    data = random.Random(5).randbytes(22 * 1024 * 1024)
    hub = FakeHub([HubFile(spec.repo, spec.filename, spec.revision, data)], pace=0.01)
    port = free_port()
    with running_hub(hub) as endpoint:
        env = kith_env(tmp_path, HF_ENDPOINT=endpoint, KITH_LLM__LOCAL_MODEL=spec.name,
                       KITH_GATEWAY__PORT=str(port), HF_HUB_DISABLE_XET="1")
        proc = subprocess.Popen([*KITH, "serve"], cwd=tmp_path, env=env, text=True,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            line = wait_for_line(proc, "Kith is ready", 60)
            assert line.endswith(f"answering with {spec.name} on llama.cpp in this process "
                                 "(downloading it first)")
            seen: list[dict[str, object]] = []
            with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
                deadline = time.monotonic() + 90
                while time.monotonic() < deadline:
                    status = client.get("/api/model").json()
                    seen.append(status)
                    if status["state"] == "failed":
                        break
                    time.sleep(0.1)
                ready = client.get("/readyz")
        finally:
            proc.send_signal(signal.SIGINT)
            _, err = proc.communicate(timeout=30)
    downloading = [s for s in seen if s["state"] == "downloading" and s["total_bytes"]]
    assert downloading and downloading[0]["total_bytes"] == len(data)
    assert any(0 <= float(s["percent"]) < 100 for s in downloading)  # type: ignore[arg-type]
    assert seen[-1]["state"] == "failed"
    assert f"is not the pinned {spec.sha256[:12]}" in str(seen[-1]["error"])
    assert ready.status_code == 503
    assert not (tmp_path / "data" / "models" / spec.filename).exists()
    assert "local_model_failed" in err and "Traceback" not in err
