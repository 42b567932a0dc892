"""The gateway against hostile requests, with the configuration a user gets: DNS rebinding,
cross-origin posts, a wrong ?token=, details off loopback, invalid Unicode, huge bodies."""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.fakes.llm import FakeLLM
from tests.support import make_settings, running_gateway, running_kith, write_bot

TOKEN = "a-real-token-0123456789"
SESSION = "session-guard-01"
WEB_ROUTES = [("GET", "/chat/kith"), ("GET", f"/chat/kith/history?session={SESSION}"),
              ("GET", f"/chat/kith/reply?session={SESSION}&id=abcdefgh1&wait=0"),
              ("POST", "/chat/kith/send")]


@asynccontextmanager
async def gateway(tmp_path: Path, url: str, **gateway_settings: Any) -> AsyncIterator[str]:
    write_bot(tmp_path / "bots")
    settings = make_settings(tmp_path, url, memory={}, gateway=gateway_settings)
    async with running_kith(settings) as kith, running_gateway(kith) as base:
        yield base


@pytest.mark.parametrize(("method", "path"), [*WEB_ROUTES, ("POST", "/hooks/kith/telegram"),
                                               ("GET", "/metrics"), ("GET", "/readyz")])
async def test_a_rebound_host_is_refused_on_every_route(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], method: str, path: str) -> None:
    async with gateway(tmp_path, fake_llm[1]) as base, httpx.AsyncClient() as client:
        evil = {"host": "attacker.example", "origin": "http://attacker.example"}
        answer = await client.request(method, base + path, headers=evil, json={})
        assert answer.status_code == 403, answer.text
        assert "unknown host" in answer.text
        cross = {"origin": "http://attacker.example"}  # a good Host, another site's page
        answer = await client.request(method, base + path, headers=cross, json={})
        assert answer.status_code == 403
    assert fake_llm[0].chat_requests == []


async def test_the_public_host_and_loopback_names_are_served(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1], public_url="https://kith.example") as base, \
            httpx.AsyncClient() as client:
        port = urlsplit(base).port
        for host in ("kith.example", f"localhost:{port}", f"[::1]:{port}", "127.0.0.1"):
            answer = await client.get(f"{base}/healthz", headers={"host": host})
            assert answer.status_code == 200, host


async def test_a_wrong_query_token_sets_no_cookie(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1], webchat_token=TOKEN,
                       public_url="https://kith.example") as base, \
            httpx.AsyncClient() as client:
        wrong = await client.get(f"{base}/chat/kith?token=guess")
        assert wrong.status_code == 401 and "set-cookie" not in wrong.headers
        assert not client.cookies
        right = await client.get(f"{base}/chat/kith?token={TOKEN}")
        assert right.status_code == 303
        cookie = right.headers["set-cookie"].lower()
        assert "httponly" in cookie and "secure" in cookie and "samesite=strict" in cookie


async def test_off_loopback_metrics_and_readiness_detail_need_the_token(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1], host="0.0.0.0", webchat_token=TOKEN) as base, \
            httpx.AsyncClient() as client:
        assert (await client.get(f"{base}/metrics")).status_code == 401
        assert (await client.get(f"{base}/readyz")).json().keys() == {"ready"}
        bearer = {"authorization": f"Bearer {TOKEN}"}
        assert (await client.get(f"{base}/metrics", headers=bearer)).status_code == 200
        assert "store" in (await client.get(f"{base}/readyz", headers=bearer)).json()
        assert (await client.get(f"{base}/chat/kith/history",
                                 params={"session": SESSION})).status_code == 401


@pytest.mark.parametrize("body", [
    b'{"session": "session-guard-01", "text": "lone \\ud800 surrogate"}',
    b'{"session": "session-guard-01", "text": "bad \xff\xfe bytes"}',
])
async def test_invalid_unicode_over_the_web_is_answered(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str], body: bytes) -> None:
    async with gateway(tmp_path, fake_llm[1]) as base, httpx.AsyncClient() as client:
        answer = await client.post(f"{base}/chat/kith/send", content=body,
                                   headers={"content-type": "application/json"})
        assert answer.status_code == 200, answer.text
        assert "\ufffd" in answer.text  # the fake echoes: the text went through, replaced
        history = await client.get(f"{base}/chat/kith/history", params={"session": SESSION})
        assert history.status_code == 200 and len(history.json()) == 2


# -- bodies: the limit holds while they stream in ---------------------------------------

BIG = 256 * 1024 * 1024
CHUNK = b"x" * 65536
ROUTES = ["/hooks/kith/telegram", "/hooks/kith/whatsapp", "/hooks/kith/whatsapp_cloud",
          "/chat/kith/send"]


def rss() -> int:
    with open(f"/proc/{os.getpid()}/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


class PeakRSS:
    def __init__(self) -> None:
        self.base = rss()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.peak = max(self.peak, rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return self.peak - self.base


async def huge_post(base: str, path: str, chunked: bool) -> tuple[int, int]:
    """POST up to 256 MiB of generated chunks; stop at the answer. (status, bytes sent)."""
    parts = urlsplit(base)
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    length = "transfer-encoding: chunked" if chunked else f"content-length: {BIG}"
    writer.write(f"POST {path} HTTP/1.1\r\nhost: {parts.netloc}\r\ncontent-type: "
                 f"application/json\r\n{length}\r\n\r\n".encode())
    answer = asyncio.ensure_future(reader.readline())
    sent = 0
    try:
        while sent < BIG and not answer.done():
            writer.write(b"%x\r\n%s\r\n" % (len(CHUNK), CHUNK) if chunked else CHUNK)
            sent += len(CHUNK)
            await writer.drain()
    except ConnectionError:
        pass  # the server answered and closed: the answer is already there
    line = await asyncio.wait_for(answer, 30)
    writer.close()
    return int(line.split()[1]), sent


async def test_huge_bodies_get_413_while_streaming_and_memory_stays_flat(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1]) as base:
        meter = PeakRSS()
        started = time.perf_counter()
        results = await asyncio.gather(*(huge_post(base, path, chunked=bool(n % 2))
                                         for path in ROUTES for n in range(8)))
        growth = meter.stop()
    assert [status for status, _ in results] == [413] * 32
    assert max(sent for _, sent in results) < BIG  # every upload was cut short
    assert growth < 50 * 1024 * 1024, f"RSS grew {growth / 2**20:.0f} MiB"
    assert time.perf_counter() - started < 60
    assert fake_llm[0].chat_requests == []
