"""The aiohttp backend answers as PTB's own HTTPXRequest does: the same request reaches the
server (method, form or multipart body, user agent), the same status and payload come back,
and failures are the same PTB errors (a server that never answers: TimedOut; nothing
listening: NetworkError). A real server on loopback, both backends side by side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from telegram import InputFile
from telegram.error import NetworkError, TimedOut
from telegram.request import BaseRequest, HTTPXRequest, RequestData
from telegram.request._requestparameter import RequestParameter

from adapters.telegram.request import AiohttpRequest
from tests.support import free_port

Seen = list[tuple[str, str, bytes, str]]  # method, content type (no boundary), body, agent


@pytest.fixture
async def server() -> AsyncIterator[tuple[str, Seen]]:
    seen: Seen = []

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode()
        lines = head.split("\r\n")
        headers = {k.lower(): v for k, _, v in (h.partition(": ") for h in lines[1:] if h)}
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        if lines[0].split()[1] == "/hang":
            await asyncio.sleep(30)
        kind = headers.get("content-type", "").split(";")[0]
        if kind == "multipart/form-data":  # the boundary differs by backend
            boundary = headers["content-type"].split("boundary=")[1].strip('"').encode()
            body = body.replace(boundary, b"B")
        seen.append((lines[0].split()[0], kind, body, headers.get("user-agent", "")))
        payload = b'{"ok":true,"result":42}'
        writer.write(b"HTTP/1.1 201 Created\r\ncontent-type: application/json\r\n"
                     b"content-length: %d\r\n\r\n%s" % (len(payload), payload))
        await writer.drain()
        writer.close()

    srv = await asyncio.start_server(handle, "127.0.0.1", 0)
    port = srv.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}", seen
    finally:
        srv.close()


def _data(*, upload: bool) -> RequestData:
    params = [RequestParameter.from_input("chat_id", 7),
              RequestParameter.from_input("text", "héllo & <b>x</b>")]
    if upload:
        params.append(RequestParameter.from_input(
            "document", InputFile(b"file bytes", filename="a.txt", attach=True)))
    return RequestData(params)


@pytest.mark.parametrize("upload", [False, True])
async def test_the_same_request_and_answer_as_httpx(server: tuple[str, Seen],
                                                     upload: bool) -> None:
    url, seen = server
    answers = []
    for backend in (HTTPXRequest(), AiohttpRequest()):
        await backend.initialize()
        try:
            answers.append(await backend.do_request(f"{url}/sendMessage", "POST",
                                                    _data(upload=upload)))
            answers.append(await backend.do_request(f"{url}/file", "GET"))
        finally:
            await backend.shutdown()
    assert answers[0] == answers[2] == answers[1] == answers[3] == (201,
                                                                      b'{"ok":true,"result":42}')
    httpx_post, httpx_get, aiohttp_post, aiohttp_get = seen
    assert httpx_post[:2] == aiohttp_post[:2] == (
        "POST", "multipart/form-data" if upload else "application/x-www-form-urlencoded")
    assert httpx_post[3] == aiohttp_post[3] == BaseRequest.USER_AGENT
    if upload:  # the parts' order and headers may differ; their contents do not
        for part in (b'name="chat_id"\r\n\r\n7\r\n', b"file bytes", b'filename="a.txt"'):
            assert part in httpx_post[2] and part in aiohttp_post[2]
    else:
        assert httpx_post[2] == aiohttp_post[2]
    assert httpx_get[:2] == aiohttp_get[:2] == ("GET", "")


async def test_failures_are_ptbs_errors(server: tuple[str, Seen]) -> None:
    url, _ = server
    backend = AiohttpRequest(read_timeout=0.5)
    await backend.initialize()
    try:
        with pytest.raises(TimedOut):
            await backend.do_request(f"{url}/hang", "POST", _data(upload=False))
        with pytest.raises(NetworkError) as refused:
            await backend.do_request(f"http://127.0.0.1:{free_port()}/x", "POST")
        assert not isinstance(refused.value, TimedOut)
    finally:
        await backend.shutdown()
