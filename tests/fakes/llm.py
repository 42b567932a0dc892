"""A fake OpenAI-compatible LLM server for tests and benchmarks.

A real HTTP server on loopback (uvicorn, raw ASGI app) speaking the OpenAI wire format, so the
real ``openai.AsyncOpenAI`` client can talk to it. Runs in a background thread with its own
event loop::

    fake = FakeLLM(reply="hello there")
    async with running_fake_llm(fake) as base_url:   # "http://127.0.0.1:PORT/v1"
        ...

CLI (for benchmarks): ``python -m tests.fakes.llm --port 0 --ttft 0.3 --itl 0.02 --reply "..."``
prints ``READY http://127.0.0.1:PORT/v1`` once listening and runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import signal
import socket
import sys
import threading
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterable, Iterator
from typing import Any

import uvicorn

from tests.fakes import llm_wire as wire
from tests.fakes.llm_app import (
    CHAT_PATH,
    EMBEDDINGS_PATH,
    MODELS_PATH,
    RERANK_PATHS,
    FakeApp,
    QuietCuts,
    RecordedRequest,
    ScriptedToolCall,
)
from tests.fakes.llm_faults import Fault

__all__ = [
    "FakeLLM",
    "FakeLLMServer",
    "Fault",
    "RecordedRequest",
    "ScriptedToolCall",
    "running_fake_llm",
    "running_fake_llm_sync",
    "strict_fake_llm",
]

ReplyFn = Callable[[dict[str, Any]], "str | ScriptedToolCall"]


class FakeLLM:
    """Behaviour and request log of a fake server. Mutable while the server runs.

    ``reply``: fixed string, or ``callable(request_json) -> str``; ``None`` echoes
    ``"You said: <last user message>"``. ``ttft``/``itl``: seconds before the first content
    chunk / between chunks (streams only). ``record=False`` disables the request log.
    """

    def __init__(
        self,
        reply: str | ReplyFn | None = None,
        ttft: float = 0.0,
        itl: float = 0.0,
        *,
        models: list[str] | None = None,
        embedding_dim: int = 64,
        record: bool = True,
        strict: bool = False,
    ) -> None:
        self.reply: str | ReplyFn | None = reply
        self.strict = strict  # a chat request with the script used up is an error (HTTP 500)
        self.unexpected = 0
        self.chat_calls = 0  # every chat request, also with record=False
        self.ttft = ttft
        self.itl = itl
        self.models: list[str] = list(models) if models else ["llama-test"]
        self.embedding_dim = embedding_dim
        self.record = record
        self.fail_all: Fault | None = None
        self.requests: list[RecordedRequest] = []
        self.base_url: str | None = None  # set while served
        self._script: deque[str | ScriptedToolCall] = deque()
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        """The ``/v1`` base URL it is served at (only while it is)."""
        assert self.base_url, "the fake model is not being served"
        return self.base_url

    def script(self, replies: Iterable[str]) -> None:
        """Queue replies, consumed in order, one per chat request (before ``reply``)."""
        self._script.extend(replies)

    def script_tool_call(
        self, name: str, arguments: str | dict[str, Any] = "{}", *, call_id: str | None = None
    ) -> None:
        """Queue (in the same queue as ``script``) a chat answer that is one tool call."""
        args = arguments if isinstance(arguments, str) else wire.dumps(arguments).decode()
        self._script.append(ScriptedToolCall(name, args, call_id or wire.new_id("call")))

    def inject(self, fault: Fault) -> None:
        """Queue a fault, consumed by the next request it applies to."""
        self._faults.append(fault)

    def reset(self) -> None:
        """Clear script, faults, ``fail_all`` and the request log."""
        self._script.clear()
        self._faults.clear()
        self.fail_all = None
        self.requests.clear()

    @property
    def chat_requests(self) -> list[Any]:
        """JSON bodies of every ``POST /v1/chat/completions`` received."""
        return [r.json for r in self.requests if r.path == CHAT_PATH]

    @property
    def embedding_requests(self) -> list[Any]:
        return [r.json for r in self.requests if r.path == EMBEDDINGS_PATH]

    @property
    def rerank_requests(self) -> list[Any]:
        return [r.json for r in self.requests if r.path in RERANK_PATHS]

    def next_fault(self, path: str) -> Fault | None:
        if self.fail_all is not None:
            return self.fail_all
        with self._lock:
            if self._faults and (path != MODELS_PATH or self._faults[0].models):
                return self._faults.popleft()
        return None

    @property
    def unconsumed(self) -> int:
        """Scripted answers no request has taken yet."""
        return len(self._script)

    def next_reply(self, body: dict[str, Any]) -> str | ScriptedToolCall:
        with contextlib.suppress(IndexError):
            return self._script.popleft()
        if self.strict:
            self.unexpected += 1
            raise AssertionError("unexpected chat request: the script is used up")
        if self.reply is None:
            return wire.echo_reply(body)
        if isinstance(self.reply, str):
            return self.reply
        reply = self.reply(body)  # a reply function may answer with a tool call too
        return reply if isinstance(reply, ScriptedToolCall) else str(reply)


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop]:
    try:
        uvloop = importlib.import_module("uvloop")
    except ImportError:
        return asyncio.new_event_loop
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


class _Server(uvicorn.Server):
    """uvicorn server that signals readiness and wakes up at once when asked to exit."""

    def __init__(
        self, config: uvicorn.Config, ready: threading.Event, exit_event: asyncio.Event
    ) -> None:
        super().__init__(config)
        self._ready_flag = ready
        self._exit_event = exit_event

    async def main_loop(self) -> None:
        counter = 0
        while not await self.on_tick(counter):
            counter = (counter + 10) % 864000
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._exit_event.wait(), 1.0)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            self._ready_flag.set()


class FakeLLMServer:
    """Serves a :class:`FakeLLM` from a background thread with its own event loop."""

    def __init__(self, fake: FakeLLM, host: str = "127.0.0.1", port: int = 0) -> None:
        self.fake = fake
        self.host = host
        self.port = port
        self.base_url = ""
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: uvicorn.Server | None = None
        self._shutdown: asyncio.Event | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None

    def start(self, timeout: float = 10.0) -> str:
        """Bind, start serving, and return the base URL (``http://host:port/v1``)."""
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.host, self.port))
        sock.listen(2048)
        self.port = sock.getsockname()[1]
        self.base_url = f"http://{self.host}:{self.port}/v1"
        self._thread = threading.Thread(
            target=self._run, args=(sock,), daemon=True, name=f"fake-llm-{self.port}"
        )
        self._thread.start()
        if not self._ready.wait(timeout) or self._error is not None:
            self.stop()
            raise RuntimeError(f"fake LLM server failed to start: {self._error!r}")
        self.fake.base_url = self.base_url
        return self.base_url

    def stop(self, timeout: float = 5.0) -> None:
        """Stop serving; hung requests are dropped. Idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None:
            return
        if loop is not None:
            with contextlib.suppress(RuntimeError):  # loop already closed
                loop.call_soon_threadsafe(self._request_exit)
        thread.join(timeout)
        if thread.is_alive() and self._server is not None:
            self._server.force_exit = True
            thread.join(timeout)
        self._thread = None
        self.fake.base_url = None

    def _request_exit(self) -> None:
        if self._shutdown is not None:
            self._shutdown.set()
        if self._server is not None:
            self._server.should_exit = True

    def _run(self, sock: socket.socket) -> None:
        try:
            with asyncio.Runner(loop_factory=_loop_factory()) as runner:
                runner.run(self._serve(sock))
        except BaseException as exc:
            self._error = exc
        finally:
            self._ready.set()
            sock.close()

    async def _serve(self, sock: socket.socket) -> None:
        self._loop = asyncio.get_running_loop()
        self._shutdown = asyncio.Event()
        config = uvicorn.Config(
            FakeApp(self.fake, self._shutdown),
            log_level="warning",
            access_log=False,
            lifespan="off",
            log_config=None,
            ws="none",
            timeout_graceful_shutdown=2,
        )
        uv_log = logging.getLogger("uvicorn.error")
        if not any(isinstance(f, QuietCuts) for f in uv_log.filters):
            uv_log.addFilter(QuietCuts())
        self._server = _Server(config, self._ready, self._shutdown)
        await self._server.serve(sockets=[sock])


@contextlib.asynccontextmanager
async def running_fake_llm(
    fake: FakeLLM | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> AsyncIterator[str]:
    """Serve ``fake`` (a default :class:`FakeLLM` if None); yields the ``/v1`` base URL."""
    server = FakeLLMServer(fake if fake is not None else FakeLLM(), host, port)
    url = await asyncio.to_thread(server.start)
    try:
        yield url
    finally:
        await asyncio.to_thread(server.stop)


@contextlib.asynccontextmanager
async def strict_fake_llm() -> AsyncIterator[FakeLLM]:
    """A strict :class:`FakeLLM`, served: a call past its script is an error, and on leaving
    every scripted answer must have been asked for and nothing else (the tests' ``fake``)."""
    fake = FakeLLM(strict=True)
    async with running_fake_llm(fake):
        yield fake
    assert fake.unexpected == 0 and fake.unconsumed == 0


@contextlib.contextmanager
def running_fake_llm_sync(
    fake: FakeLLM | None = None, *, host: str = "127.0.0.1", port: int = 0
) -> Iterator[str]:
    """Synchronous variant of :func:`running_fake_llm`."""
    server = FakeLLMServer(fake if fake is not None else FakeLLM(), host, port)
    url = server.start()
    try:
        yield url
    finally:
        server.stop()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.fakes.llm", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--ttft", type=float, default=0.0, help="seconds to first token")
    parser.add_argument("--itl", type=float, default=0.0, help="seconds between tokens")
    parser.add_argument("--reply", default=None, help="fixed reply (default: echo)")
    parser.add_argument("--model", action="append", dest="models", help="model id (repeatable)")
    parser.add_argument("--embedding-dim", type=int, default=64)
    args = parser.parse_args(argv)
    fake = FakeLLM(
        args.reply,
        args.ttft,
        args.itl,
        models=args.models,
        embedding_dim=args.embedding_dim,
        record=False,
    )
    stop = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    server = FakeLLMServer(fake, args.host, args.port)
    url = server.start()
    print(f"READY {url}", flush=True)
    try:
        while not stop.wait(0.5):
            pass
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
