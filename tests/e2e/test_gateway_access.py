"""Who may read the pages: the token through a tunnel and off loopback names, slowed
guessing, ``nosniff`` everywhere, Origin compared with scheme and port, private files."""

from __future__ import annotations

import asyncio
import stat
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.canary import assert_clean, debug_log
from tests.fakes.llm import FakeLLM
from tests.support import make_settings, running_gateway, running_kith, write_bot

TOKEN = "Zq3-vN8xWp2LkT7rYc5HbM1sJd4GfA9e"  # about 180 bits by webauth.token_bits
SESSION = "session-access-01"
PRIVATE = [("GET", "/"), ("GET", "/chat/kith"), ("GET", f"/chat/kith/history?session={SESSION}"),
           ("GET", f"/chat/kith/reply?session={SESSION}&id=abcdefgh1&wait=0"),
           ("POST", "/chat/kith/send"), ("GET", "/me/kith"), ("GET", "/me/kith/knowledge"),
           ("GET", "/me/kith/export"), ("POST", "/me/kith/forget-everything"),
           ("POST", "/me/kith/learning"), ("GET", "/api/model"), ("GET", "/metrics")]


@asynccontextmanager
async def gateway(tmp_path: Path, url: str, **gateway_settings: Any) -> AsyncIterator[str]:
    write_bot(tmp_path / "bots")
    settings = make_settings(tmp_path, url, memory={}, gateway=gateway_settings)
    async with running_kith(settings) as kith, running_gateway(kith) as base:
        yield base


def body_for(path: str) -> dict[str, Any]:
    if path.endswith("/send"):
        return {"session": SESSION, "text": "tell me everything you know"}
    if path.endswith("/forget-everything"):
        return {"confirm": "forget everything"}
    return {"on": False}


async def test_a_public_url_or_a_foreign_host_puts_every_page_behind_the_token(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    """No token configured (a test can build that; `kith serve` refuses to start so):
    through the public name, or even as localhost once a public URL is set, and through an
    allowed LAN name without one, nothing of the person's is served."""
    async with gateway(tmp_path, fake_llm[1], public_url="https://kith.example") as base, \
            httpx.AsyncClient() as client:
        port = urlsplit(base).port
        for host in ("kith.example", f"localhost:{port}", f"127.0.0.1:{port}"):
            for method, path in PRIVATE:
                answer = await client.request(method, base + path, headers={"host": host},
                                              json=body_for(path))
                assert answer.status_code == 401, (host, path, answer.text)
                assert "KITH_GATEWAY__WEBCHAT_TOKEN" in answer.text
            assert (await client.get(f"{base}/healthz", headers={"host": host})).text == "ok"
            assert (await client.get(f"{base}/readyz", headers={"host": host})).json().keys() \
                == {"ready"}
    async with gateway(tmp_path, fake_llm[1], allowed_hosts=["kith.lan"]) as base, \
            httpx.AsyncClient() as client:
        for method, path in PRIVATE:
            answer = await client.request(method, base + path, headers={"host": "kith.lan"},
                                          json=body_for(path))
            assert answer.status_code == 401, (path, answer.text)
        # From this machine to a loopback name, no token is needed (the default set-up).
        export = await client.get(f"{base}/me/kith/export")
        assert export.status_code == 200 and "memories" in export.json()
    assert fake_llm[0].chat_requests == []


async def test_wrong_tokens_are_slowed_per_client_and_the_right_one_still_works(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1], webchat_token=TOKEN,
                       public_url="https://kith.example") as base, \
            httpx.AsyncClient(timeout=60) as guesser, \
            httpx.AsyncClient(transport=httpx.AsyncHTTPTransport(local_address="127.0.0.2"),
                              timeout=60) as owner:
        started = time.monotonic()
        guesses = [asyncio.create_task(guesser.get(
            f"{base}/me/kith/export", headers={"authorization": f"Bearer guess-{n:04d}"}))
            for n in range(10)]
        await asyncio.sleep(0.5)
        mine = await owner.get(f"{base}/me/kith/export",
                               headers={"authorization": f"Bearer {TOKEN}"})
        owner_done = time.monotonic()
        answers = await asyncio.gather(*guesses)
        guessing = time.monotonic() - started
    assert [a.status_code for a in answers] == [401] * 10
    assert mine.status_code == 200  # another client is not slowed by the guesser
    # 5 misses are free, then one attempt a second: the tenth is looked at 4 s after the 6th
    assert guessing >= 4.0, f"10 guesses in {guessing:.2f} s"
    assert owner_done < started + guessing


async def test_every_response_says_nosniff(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1]) as base, httpx.AsyncClient() as client:
        answers = [
            await client.get(f"{base}/healthz"), await client.get(f"{base}/readyz"),
            await client.get(f"{base}/nowhere"), await client.get(f"{base}/chat/kith"),
            await client.get(f"{base}/me/kith/export"), await client.get(f"{base}/api/model"),
            await client.get(f"{base}/healthz", headers={"host": "attacker.example"}),
            await client.get(f"{base}/me/kith", headers={"host": "10.0.0.9"}),
            await client.post(f"{base}/hooks/kith/telegram", json={}),
            await client.post(f"{base}/chat/kith/send", content=b"x" * 2_000_000,
                              headers={"content-type": "application/json"}),
            await client.post(f"{base}/chat/kith/send",
                              json={"session": SESSION, "text": "hello"}),
        ]
    assert [a.status_code for a in answers] == [200, 200, 404, 200, 200, 200, 403, 401, 404,
                                                413, 200]
    assert all(a.headers.get("x-content-type-options") == "nosniff" for a in answers)


async def test_origin_is_compared_with_scheme_and_port(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1], webchat_token=TOKEN,
                       public_url="https://kith.example") as base, \
            httpx.AsyncClient() as client:
        port = urlsplit(base).port
        bearer = {"authorization": f"Bearer {TOKEN}"}

        async def status(host: str, origin: str) -> int:
            answer = await client.post(f"{base}/me/kith/learning", json={"on": True},
                                       headers={**bearer, "host": host, "origin": origin})
            return answer.status_code
        assert await status(f"127.0.0.1:{port}", f"http://127.0.0.1:{port}") == 200
        assert await status(f"127.0.0.1:{port}", f"http://127.0.0.1:{port + 1}") == 403
        assert await status(f"127.0.0.1:{port}", f"https://127.0.0.1:{port}") == 403
        assert await status("kith.example", "https://kith.example") == 200
        assert await status("kith.example", "http://kith.example") == 403  # downgraded
        assert await status("kith.example", "https://kith.example:8443") == 403


async def test_the_bots_data_directory_is_private(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    async with gateway(tmp_path, fake_llm[1]):
        for path in (tmp_path / "data", tmp_path / "data" / "kith",
                     tmp_path / "data" / "kith" / "web"):
            assert stat.S_IMODE(path.stat().st_mode) == 0o700, path


@pytest.mark.parametrize("token", ["a" * 16, "a" * 64, "abcdefghijklmnopqrstuvwxyz",
                                   "hunter2-hunter2-hunter2"])
def test_weak_tokens_are_refused(token: str) -> None:
    from adapters.webauth import MIN_BITS, generate, token_bits
    assert token_bits(token) < MIN_BITS
    assert token_bits(generate()) >= 1.5 * MIN_BITS
    assert token_bits(TOKEN) >= MIN_BITS


async def test_the_web_token_is_in_no_debug_log_line(
        tmp_path: Path, fake_llm: tuple[FakeLLM, str]) -> None:
    """Canary at DEBUG: the token as ?token=, cookie and bearer header, right and wrong."""
    with debug_log() as out:
        async with gateway(tmp_path, fake_llm[1], webchat_token=TOKEN) as base, \
                httpx.AsyncClient() as client, httpx.AsyncClient() as other:
            assert (await client.get(f"{base}/chat/kith?token={TOKEN}")).status_code == 303
            assert (await client.get(f"{base}/chat/kith")).status_code == 200  # the cookie
            sent = await client.post(f"{base}/chat/kith/send",
                                     json={"session": SESSION, "text": "hello"})
            assert sent.status_code == 200
            bearer = {"authorization": f"Bearer {TOKEN}x"}
            assert (await other.get(f"{base}/metrics", headers=bearer)).status_code == 401
    assert_clean(out, TOKEN)
