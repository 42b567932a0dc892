"""llama.cpp in-process, behind the same ``ChatModel`` seam as the OpenAI-compatible client.

One worker thread owns the model, so requests queue (one CPU model answers one request at a
time) instead of fighting over the cores. The worker runs llama-cpp-python's own chat
completion, which speaks the OpenAI chunk format, and the chunks go through the same pure
decoder as a server's stream (``core.llm.decode_chunk``): one code path for streamed text,
finish reasons and tool calls, whatever serves the model (tools go to the GGUF's own chat
template, as llama.cpp's server does; text-emitted calls are parsed by ``core.tools``). A
reply stops at the next token once its reader goes away.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import itertools
import json
import queue as queues
import threading
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from core import metrics
from core.llm import ChatMessage, Completion, Delta, LLMError, Probe, Usage, decode_chunk
from core.llm.types import ToolCall
from core.llm.wire import merge_tool_calls
from core.local import native
from core.local.catalog import LocalModel
from core.local.kv import Yielded, open_warm
from core.local.pull import PullError, Status, StatusBoard, pull
from core.local.threads import default_threads
from core.logging import get_logger
from core.settings import LLMSettings

log = get_logger("kith.local")
_END = object()
PERSON, BACKGROUND = 0, 1  # queue ranks: a person's turn before any background work
IDLE_SECONDS = 2.0  # background work starts once no person's call ran for this long
PREFIX_CACHE_BYTES = 512 << 20  # saved KV prefixes (conversations, extraction) kept in RAM


@dataclass(order=True, slots=True)
class _Job:
    rank: int
    seq: int
    run: Callable[[], None] | None = field(compare=False)
    counter: _Counter | None = field(compare=False, default=None)
    fail: Callable[[], None] = field(compare=False, default=lambda: None)


def llama_response_format(response_format: dict[str, Any] | None) -> dict[str, Any] | None:
    """The OpenAI ``response_format`` as llama-cpp-python takes it (pure).

    ``json_schema`` becomes ``{"type": "json_object", "schema": …}``, which llama-cpp-python
    compiles to a GBNF grammar: sampling can only produce JSON valid for the schema."""
    if not response_format:
        return None
    kind = response_format.get("type")
    if kind == "json_schema":
        spec = response_format.get("json_schema") or {}
        schema = spec.get("schema") if isinstance(spec, dict) else None
        return {"type": "json_object", "schema": schema} if schema else {"type": "json_object"}
    if kind == "json_object":
        return dict(response_format)
    return None


def template_messages(messages: Sequence[ChatMessage]) -> list[dict[str, Any]]:
    """The messages as a GGUF's chat template takes them (pure): a call's arguments as an
    object, not the OpenAI wire's JSON string, which templates (Qwen, Hermes, Llama 3.1,
    Mistral: ``arguments | tojson``) would show the model as one escaped string —
    unlike the calls it writes itself, and unlike the KV its own call left."""
    out = []
    for message in messages:
        wire = message.wire()
        for call in wire.get("tool_calls", ()):
            try:
                arguments = json.loads(call["function"]["arguments"] or "{}")
            except ValueError:
                continue  # as it was written: the model sees what it wrote
            if isinstance(arguments, dict):
                call["function"]["arguments"] = arguments
        out.append(wire)
    return out


@dataclass(slots=True)
class _Counter:
    """A llama-cpp logits processor that counts sampled tokens (prompt length on the first)."""

    cancel: threading.Event = field(default_factory=threading.Event)
    prompt: int = 0
    sampled: int = 0

    def __call__(self, input_ids: Any, scores: Any) -> Any:
        if self.sampled == 0:
            self.prompt = len(input_ids)
        self.sampled += 1
        return scores

    def usage(self, finish: str | None) -> Usage:
        # the end-of-turn token is sampled but is not part of the reply
        completion = self.sampled if finish == "length" else max(self.sampled - 1, 0)
        return Usage(self.prompt, completion)


def available() -> str | None:
    """None when llama-cpp-python can be imported, else why not."""
    try:
        import llama_cpp  # noqa: F401
    except ImportError as exc:
        return str(exc) or "not installed"
    return None


class EmbeddedModel:
    """ChatModel over a GGUF file with llama-cpp-python on one worker thread."""

    def __init__(self, local: LocalModel, settings: LLMSettings, *, show_progress: bool = True,
                 seed: int | None = None, idle: float = IDLE_SECONDS) -> None:
        self.local = local
        self.settings = settings
        self.label = f"embedded:{local.name}"
        self.show_progress = show_progress
        self.seed = seed
        self.board = StatusBoard(local.name, "loading" if local.present else "downloading")
        self._pool = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="kith-llama")
        self._loaded: concurrent.futures.Future[None] | None = None
        self._llama: Any = None
        self._queued = 0
        self._persons = 0  # people's requests waiting (background work yields to them)
        self._lock = threading.Lock()
        self._jobs: queues.PriorityQueue[_Job] = queues.PriorityQueue()
        self._seq = itertools.count()
        self._current: _Job | None = None
        # a person's calls come in bursts (a tool turn is several): background work waits
        # for a pause, so it does not take the worker between two calls of one turn
        self.idle = idle
        self._person_done = -idle
        self._wake = threading.Event()
        # a daemon thread: leaving never waits for a long prompt to finish evaluating
        self._thread = threading.Thread(target=self._worker, daemon=True, name="kith-llama")
        self._thread.start()
        self.sampled = 0  # tokens generated since start, stopped replies included
        self._closing = threading.Event()

    # -- loading -------------------------------------------------------------------------

    def start(self) -> concurrent.futures.Future[None]:
        """Begin fetching and loading the model on the worker (idempotent)."""
        if self._loaded is None:
            self._loaded = self._pool.submit(self._load)
        return self._loaded

    def _load(self) -> None:
        try:
            path = pull(self.local, board=self.board, show=self.show_progress,
                        report=self._check_closing)
        except PullError as exc:
            self.board.set(state="failed", error=str(exc))
            log.error("local_model_failed", model=self.local.name, error=str(exc))
            raise
        self.board.set(state="loading")
        problem = native.check(path, self.settings.local_threads or default_threads())
        if problem is not None:  # the child process died, not Kith: say what to do
            self.board.set(state="failed", error=problem)
            log.error("local_model_failed", model=self.local.name, error=problem)
            raise PullError(problem)
        try:
            self._llama = _open(str(path), self.settings, self.seed)
        except Exception as exc:
            message = f"cannot load {path}: {exc}"
            self.board.set(state="failed", error=message)
            log.error("local_model_failed", model=self.local.name, error=message)
            raise PullError(message) from exc
        self.board.set(state="ready")
        log.info("local_model_ready", model=self.local.name, path=str(path))

    def _check_closing(self, done: int, total: int | None) -> None:
        if self._closing.is_set():
            raise PullError(f"download of {self.local.name} stopped at {done} bytes; "
                            "it resumes on the next start")

    async def ready(self) -> None:
        """Wait until the model is loaded; :class:`LLMError` if it cannot be."""
        try:
            await asyncio.wrap_future(self.start())
        except PullError as exc:
            raise LLMError(str(exc)) from exc

    def status(self) -> Status:
        status = self.board.get()
        return Status(status.state, status.model, status.done_bytes, status.total_bytes,
                      status.error, self._queued)

    # -- calls ---------------------------------------------------------------------------

    def _params(self, messages: Sequence[ChatMessage], max_tokens: int | None,
                tools: Sequence[dict[str, Any]],
                response_format: dict[str, Any] | None = None) -> dict[str, Any]:
        params: dict[str, Any] = {
            "messages": template_messages(messages),
            "max_tokens": max_tokens or self.settings.max_reply_tokens,
            "temperature": self.settings.temperature,
        }
        if tools:
            params["tools"] = list(tools)
        grammar_format = llama_response_format(response_format)
        if grammar_format is not None:
            params["response_format"] = grammar_format
        if self.seed is not None:
            params["seed"] = self.seed
        return params

    def _submit(self, job: _Job) -> None:
        with self._lock:
            if job.rank == PERSON:
                self._persons += 1
            self._queued += 1
        self._jobs.put(job)
        self._wake.set()

    def _worker(self) -> None:
        while True:
            job = self._jobs.get()
            if job.run is None:  # close(): stop after what was running
                return
            pause = self._person_done + self.idle - time.monotonic()
            if job.rank == BACKGROUND and pause > 0:
                self._jobs.put(job)  # still counted as queued; a person may come first
                self._wake.wait(pause)
                self._wake.clear()
                continue
            with self._lock:
                self._queued -= 1
                if job.rank == PERSON:
                    self._persons -= 1
                self._current = job
            if self._llama is not None:  # background reads its prompt in stoppable chunks
                self._llama.stop = self._person_waits if job.rank == BACKGROUND else None
            try:
                job.run()
            finally:
                self._current = None
                if job.rank == PERSON:
                    self._person_done = time.monotonic()

    def _person_waits(self) -> bool:
        return self._persons > 0

    async def stream(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, tools: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[Delta]:
        async for delta in self._stream(self._params(messages, max_tokens, tools), False):
            yield delta

    async def _stream(self, params: dict[str, Any], background: bool) -> AsyncIterator[Delta]:
        await self.ready()
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Any] = asyncio.Queue()
        counter = _Counter()
        rank = BACKGROUND if background else PERSON
        job = _Job(rank, next(self._seq), None, counter)

        def put(item: Any) -> None:
            try:
                loop.call_soon_threadsafe(queue.put_nowait, item)
            except RuntimeError:  # the loop is gone: nobody is reading
                counter.cancel.set()

        def work() -> None:
            # a person's reply streams as it comes; background work is held until it is
            # whole, so it can yield to a person who starts waiting and begin again later
            held: list[Any] = []
            emit = put if rank == PERSON else held.append
            counter.prompt = counter.sampled = 0
            chunks: Any = None
            try:
                if not counter.cancel.is_set():
                    chunks = self._llama.create_chat_completion(
                        stream=True, logits_processor=[counter], **params)
                    for chunk in chunks:
                        if counter.cancel.is_set():  # the reader left: stop at this token
                            break
                        emit(chunk)
            except Yielded:  # a person waits: set aside between two chunks, done again later
                metrics.LOCAL_YIELDS.inc()
                log.info("local_background_yielded", tokens=counter.sampled)
                self.sampled += counter.sampled
                if chunks is not None:
                    chunks.close()  # on this thread, before anything else runs
                self._submit(job)  # again, behind everyone waiting
                return
            except Exception as exc:
                emit(exc)
            finally:
                if chunks is not None:
                    chunks.close()
            self.sampled += counter.sampled
            for item in held:
                put(item)
            put(_END)

        job.run = work
        def fail() -> None:
            put(LLMError("the local model was closed"))
            put(_END)

        job.fail = fail
        self._submit(job)
        try:
            async for delta in self._read(queue, counter):
                yield delta
        finally:
            counter.cancel.set()

    async def _read(self, queue: asyncio.Queue[Any], counter: _Counter) -> AsyncIterator[Delta]:
        finish: str | None = None
        calls: dict[int, list[str]] = {}
        while (item := await queue.get()) is not _END:
            if isinstance(item, Exception):
                raise LLMError(f"the local model failed ({type(item).__name__}: {item})",
                               partial=counter.sampled > 0) from item
            merge_tool_calls(calls, item)  # native calls, when a chat handler makes them
            text, chunk_finish, _ = decode_chunk(item)
            finish = chunk_finish or finish
            if text:
                yield Delta(text=text, endpoint=self.label)
        if finish is None:
            raise LLMError("the local model's reply ended early", partial=counter.sampled > 0)
        usage = counter.usage(finish)
        metrics.LLM_TOKENS.labels(kind="prompt").inc(usage.prompt_tokens)
        metrics.LLM_TOKENS.labels(kind="completion").inc(usage.completion_tokens)
        done = tuple(ToolCall(c[0] or f"call_{i}", c[1], c[2]) for i, c in sorted(calls.items()))
        yield Delta(finish_reason=finish, usage=usage, endpoint=self.label, tool_calls=done)

    async def complete(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
        tools: Sequence[dict[str, Any]] = (), background: bool = False,
    ) -> Completion:
        text: list[str] = []
        finish: str | None = None
        usage = Usage()
        calls: tuple[ToolCall, ...] = ()
        # a JSON Schema in response_format becomes a grammar: the reply can only be valid
        async for delta in self._stream(self._params(messages, max_tokens, tools,
                                                     response_format), background):
            text.append(delta.text)
            finish = delta.finish_reason or finish
            usage = delta.usage or usage
            calls = delta.tool_calls or calls
        return Completion("".join(text), finish, usage, self.label,
                          tuple(call.wire() for call in calls))

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        raise LLMError("the embedded model does not serve embeddings")

    async def probe(self) -> dict[str, Probe]:
        status = self.board.get()
        if status.state == "ready":
            return {self.label: Probe(models=(self.local.name,))}
        return {self.label: Probe(error=status.line())}

    async def aclose(self) -> None:
        await asyncio.to_thread(self.close)

    def close(self) -> None:
        """Stop a download in progress (it resumes next time) and the reply in progress (at
        its next token); what waited is told the model closed. A prompt being read is read
        to its end first (llama.cpp cannot stop mid-batch): ``kith chat`` does not wait for
        that (bots/chat.py)."""
        self._closing.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        current = self._current
        if current is not None and current.counter is not None:
            current.counter.cancel.set()
        self._fail_queued()
        self._jobs.put(_Job(-1, -1, None))
        self._wake.set()
        self._thread.join()
        self._fail_queued()  # put back while waiting for a pause, or set aside to yield
        self._llama = None

    def _fail_queued(self) -> None:
        while True:
            try:
                job = self._jobs.get_nowait()
            except queues.Empty:
                return
            if job.run is not None:
                job.fail()


def _open(path: str, settings: LLMSettings, seed: int | None) -> Any:
    return open_warm(path, n_ctx=settings.local_context,
                     threads=settings.local_threads or default_threads(),
                     seed=seed if seed is not None else -1, capacity=PREFIX_CACHE_BYTES)
