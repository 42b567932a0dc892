from __future__ import annotations

import time
from pathlib import Path

import httpx

from tests.fakes.llm import FakeLLM, Fault
from tests.support import make_settings, running_gateway, running_kith, write_bot

SESSION = "session-0001"


def client_() -> httpx.AsyncClient:
    return httpx.AsyncClient(timeout=10, follow_redirects=True)


async def send(
    client: httpx.AsyncClient, base: str, text: str, **kw: object
) -> tuple[str, list[float]]:
    """POST like the page does; returns the streamed text and when each piece arrived."""
    body = {"session": SESSION, "text": text, **kw}
    arrivals: list[float] = []
    pieces: list[str] = []
    async with client.stream("POST", f"{base}/chat/kith/send", json=body) as response:
        assert response.status_code == 200, await response.aread()
        async for piece in response.aiter_text():
            arrivals.append(time.monotonic())
            pieces.append(piece)
    return "".join(pieces), arrivals


async def test_web_chat_streams_and_history_survives_a_restart(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    write_bot(tmp_path / "bots")
    settings = make_settings(tmp_path, url)
    fake.itl = 0.05
    async with running_kith(settings) as kith, running_gateway(kith) as base, \
            client_() as client:
        page = await client.get(f"{base}/")
        assert page.status_code == 200 and "<textarea" in page.text
        text, arrivals = await send(client, base, "my cat is called Miso")
        assert text == "You said: my cat is called Miso"
        # really streamed: pieces arriving apart in time (how many depends on how the
        # writes coalesce on a loaded box, so not a count above two)
        assert len(arrivals) >= 2 and arrivals[-1] - arrivals[0] > 0.1
    fake.itl = 0.0
    async with running_kith(settings) as kith, running_gateway(kith) as base, \
            client_() as client:
        history = (await client.get(f"{base}/chat/kith/history",
                                    params={"session": SESSION})).json()
        assert [(t["role"], t["text"]) for t in history] == [
            ("user", "my cat is called Miso"), ("assistant", "You said: my cat is called Miso")]
        text, _ = await send(client, base, "what is my cat called?")
    messages = fake.chat_requests[-1]["messages"]
    assert [m["content"] for m in messages[1:3]] == [
        "my cat is called Miso", "You said: my cat is called Miso"]
    assert messages[0]["role"] == "system" and "test assistant" in messages[0]["content"]


async def test_web_chat_refuses_bad_requests(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    write_bot(tmp_path / "bots")
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as base, client_() as client:
        send_url = f"{base}/chat/kith/send"
        assert (await client.post(send_url, content="hi")).status_code == 415
        for bad in ({"session": "x", "text": "hi"}, {"session": SESSION, "text": " "}, [1]):
            assert (await client.post(send_url, json=bad)).status_code == 400
        cross = await client.post(send_url, json={"session": SESSION, "text": "hi"},
                                  headers={"origin": "http://evil.example"})
        assert cross.status_code == 403
        assert (await client.get(f"{base}/chat/kith/history")).status_code == 400
        body = {"session": SESSION, "text": "once", "id": "client-msg-1"}
        first = await client.post(send_url, json=body)
        again = await client.post(send_url, json=body)
        assert first.status_code == 200 and again.status_code == 409
    assert len(fake.chat_requests) == 1


async def test_commands_and_health_endpoints(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    write_bot(tmp_path / "bots")
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as base, client_() as client:
        assert (await client.get(f"{base}/healthz")).text == "ok"
        ready = await client.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json()["ready"] is True
        text, _ = await send(client, base, "/prefs timezone Europe/Lisbon")
        assert "Europe/Lisbon" in text
        await send(client, base, "/prefs name Ana")
        await send(client, base, "hello")
        system = fake.chat_requests[-1]["messages"][0]["content"]
        assert "Call them: Ana" in system and "Time zone: Europe/Lisbon" in system
        assert "Europe/Lisbon)" in fake.chat_requests[-1]["messages"][-1]["content"]
        memory, _ = await send(client, base, "/memory")
        assert "2 messages" in memory and "name=Ana" in memory
        history = (await client.get(f"{base}/chat/kith/history",
                                    params={"session": SESSION})).json()
        assert [(t["text"], t["command"]) for t in history[-2:]] == [
            ("/memory", True), (memory, True)]  # a command's answer survives a reload
        assert history[-1]["id"] == history[-2]["id"] and len(history) == 8
        forget, _ = await send(client, base, "/forget")
        assert "deleted 2 messages" in forget
        history = (await client.get(f"{base}/chat/kith/history",
                                    params={"session": SESSION})).json()
        assert [t["text"] for t in history] == ["/forget", forget]  # only the command's own
        help_text, _ = await send(client, base, "/help")
        assert "/reset" in help_text and "/approve" in help_text
        metrics = (await client.get(f"{base}/metrics")).text
        assert 'kith_messages_in_total{channel="web"}' in metrics
        assert "kith_turn_seconds_bucket" in metrics
    assert len(fake.chat_requests) == 1  # commands never reach the model


async def test_readyz_is_503_when_no_model_answers(
    tmp_path: Path, fake_llm: tuple[FakeLLM, str]
) -> None:
    fake, url = fake_llm
    fake.fail_all = Fault.status(500)
    write_bot(tmp_path / "bots")
    async with running_kith(make_settings(tmp_path, url)) as kith, \
            running_gateway(kith) as base, client_() as client:
        ready = await client.get(f"{base}/readyz")
    assert ready.status_code == 503 and ready.json()["store"] is True
