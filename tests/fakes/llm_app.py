"""ASGI app of the fake OpenAI-compatible server (see ``tests.fakes.llm``)."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, NoReturn

from tests.fakes import llm_wire as wire
from tests.fakes.llm_faults import Fault

if TYPE_CHECKING:
    from tests.fakes.llm import FakeLLM

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

STATS_PATH = "/_fake/stats"  # not OpenAI: how many chat calls came in
CHAT_PATH = "/v1/chat/completions"
EMBEDDINGS_PATH = "/v1/embeddings"
MODELS_PATH = "/v1/models"
RERANK_PATHS = ("/v1/rerank", "/rerank")
_ROUTES = {CHAT_PATH: "POST", EMBEDDINGS_PATH: "POST", MODELS_PATH: "GET",
           **dict.fromkeys(RERANK_PATHS, "POST")}
_JSON = [(b"content-type", b"application/json")]
_SSE = [(b"content-type", b"text/event-stream; charset=utf-8"), (b"cache-control", b"no-cache")]
log = logging.getLogger("tests.fakes.llm")


@dataclass(slots=True)
class RecordedRequest:
    """One request as received. Also indexable like a dict: ``req["json"]``."""

    method: str
    path: str
    headers: dict[str, str]
    json: Any
    time: float = field(default_factory=time.monotonic)

    def __getitem__(self, key: str) -> Any:
        return getattr(self, key)


@dataclass(frozen=True, slots=True)
class ScriptedToolCall:
    name: str
    arguments: str
    call_id: str


class Cut(Exception):
    """Raised inside the app to make uvicorn drop the connection."""


class QuietCuts(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], Cut))


class FakeApp:
    """Raw ASGI app (cheaper per request than a framework)."""

    def __init__(self, fake: FakeLLM, shutdown: asyncio.Event) -> None:
        self.fake = fake
        self.shutdown = shutdown

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        path, method = scope["path"], scope["method"]
        raw = b""
        while True:
            msg = await receive()
            raw += msg.get("body", b"")
            if not msg.get("more_body"):
                break
        body: Any = None
        bad_json = False
        if raw:
            try:
                body = json.loads(raw)
            except ValueError:
                bad_json = True
        fake = self.fake
        if fake.record:
            headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
            fake.requests.append(RecordedRequest(method, path, headers, body))
        if path == STATS_PATH:  # for benchmarks that run the fake as its own process
            await self._json(send, 200, json.dumps({"chat_calls": fake.chat_calls}).encode(),
                             None)
            return
        if path == CHAT_PATH:
            fake.chat_calls += 1
        fault = fake.next_fault(path)
        if fault is not None and not fault.mid_response:
            if fault.kind == "hang":
                await self._hang_then_drop(send)
            else:
                await self._status_fault(send, fault)
            return
        want = _ROUTES.get(path)
        if want is None:
            await self._json(send, 404, wire.error_body(404, f"Unknown path {path}"), fault)
        elif want != method:
            await self._json(send, 405, wire.error_body(405, f"{method} not allowed"), fault)
        elif path == MODELS_PATH:
            await self._json(send, 200, wire.models_list(fake.models), fault)
        elif bad_json or not isinstance(body, dict):
            await self._json(send, 400, wire.error_body(400, "Body must be a JSON object"), fault)
        elif path == CHAT_PATH:
            await self._chat(send, body, fault)
        else:
            try:
                out = (wire.rerank(body, fake.models[0]) if path in RERANK_PATHS
                       else wire.embeddings(body, fake.models[0], fake.embedding_dim))
            except (ValueError, TypeError) as exc:
                out = wire.error_body(400, str(exc))
                await self._json(send, 400, out, fault)
                return
            await self._json(send, 200, out, fault)

    async def _hang_then_drop(self, send: Send) -> NoReturn:
        await self.shutdown.wait()
        # Close the socket ourselves so uvicorn's fallback 500 response goes nowhere.
        transport = getattr(getattr(send, "__self__", None), "transport", None)
        if transport is not None:
            transport.close()
        raise Cut

    async def _break(self, fault: Fault) -> NoReturn:
        if fault.kind == "hang":
            await self.shutdown.wait()
        raise Cut

    async def _status_fault(self, send: Send, fault: Fault) -> None:
        code = fault.status_code
        headers = list(_JSON)
        if fault.retry_after is not None:
            headers.append((b"retry-after", f"{fault.retry_after:g}".encode()))
            headers.append((b"retry-after-ms", str(round(fault.retry_after * 1000)).encode()))
        message = fault.message or f"Injected fault: HTTP {code}"
        await self._json(send, code, wire.error_body(code, message), None, headers)

    async def _json(
        self,
        send: Send,
        status: int,
        payload: bytes,
        fault: Fault | None,
        headers: list[tuple[bytes, bytes]] | None = None,
    ) -> None:
        hdrs = [*(headers or _JSON), (b"content-length", str(len(payload)).encode())]
        await send({"type": "http.response.start", "status": status, "headers": hdrs})
        if fault is None:
            await send({"type": "http.response.body", "body": payload})
            return
        await send(
            {"type": "http.response.body", "body": payload[: len(payload) // 2], "more_body": True}
        )
        await self._break(fault)

    async def _chat(self, send: Send, body: dict[str, Any], fault: Fault | None) -> None:
        fake = self.fake
        try:
            reply = fake.next_reply(body)
        except Exception as exc:
            log.exception("fake LLM reply callable failed")
            await self._json(send, 500, wire.error_body(500, f"reply callable: {exc!r}"), fault)
            return
        model = str(body.get("model") or fake.models[0])
        prompt = wire.prompt_tokens(body)
        stream = bool(body.get("stream"))
        if isinstance(reply, ScriptedToolCall):
            finish = "tool_calls"
            completion_tokens = len(reply.arguments) // 4 + 1
            call = wire.tool_call(reply.call_id, reply.name, reply.arguments)
            message: dict[str, Any] = {
                "role": "assistant",
                "content": None,
                "tool_calls": [call],
                "refusal": None,
            }
        else:
            words = wire.split_words(reply)
            limit = body.get("max_completion_tokens") or body.get("max_tokens")
            finish = "stop"
            if isinstance(limit, int) and 0 <= limit < len(words):
                words, finish = words[:limit], "length"
            completion_tokens = len(words)
            message = {"role": "assistant", "content": "".join(words), "refusal": None}
        use = wire.usage(prompt, completion_tokens)
        if not stream:
            await self._json(send, 200, wire.completion(model, message, finish, use), fault)
            return
        writer = wire.ChunkWriter(model)
        if isinstance(reply, ScriptedToolCall):
            parts = writer.tool_call_parts(reply.call_id, reply.name, reply.arguments)
        else:
            parts = [writer.content(w) for w in words]
        tail = [writer.finish(finish)]
        opts = body.get("stream_options")
        if isinstance(opts, dict) and opts.get("include_usage"):
            tail.append(writer.usage(use))
        tail.append(wire.DONE)
        await self._stream(send, writer.role(), parts, tail, fault)

    async def _stream(
        self, send: Send, role: bytes, parts: list[bytes], tail: list[bytes], fault: Fault | None
    ) -> None:
        await send({"type": "http.response.start", "status": 200, "headers": _SSE})
        ttft, itl = self.fake.ttft, self.fake.itl
        if fault is not None:
            parts, tail = parts[: fault.after_chunks or 0], []
        pending = [role]
        if ttft > 0:
            await send({"type": "http.response.body", "body": role, "more_body": True})
            pending = []
            await asyncio.sleep(ttft)
        if itl > 0:
            for i, part in enumerate(parts):
                if i:
                    await asyncio.sleep(itl)
                pending.append(part)
                await send(
                    {"type": "http.response.body", "body": b"".join(pending), "more_body": True}
                )
                pending = []
        else:
            pending += parts
        pending += tail
        if fault is not None:
            if pending:
                await send(
                    {"type": "http.response.body", "body": b"".join(pending), "more_body": True}
                )
            await self._break(fault)
        await send({"type": "http.response.body", "body": b"".join(pending)})
