"""ChatModel over one or more OpenAI-compatible servers (vLLM, llama.cpp).

One tenacity policy with the SDK's own retries off. A conversation sticks to the same
healthy endpoint (its KV prefix cache lives there) by rendezvous hashing and fails over to
the next one in its ranking when that one is not healthy:

* a refused connection, a timeout, a 5xx: the endpoint is *down* for ``down_cooldown``;
* a 429: the endpoint is *busy* for its Retry-After (or ``down_cooldown``);
* either way the next healthy endpoint is tried at once; only when none is left does the
  policy wait (Retry-After, else exponential backoff);
* a stream that fails before its first token is retried on the next endpoint; one that
  fails after it is a partial reply (``LLMError(partial=True)``).
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import httpx
import orjson
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_random_exponential

from core import metrics
from core.llm.faults import error_kind, is_retryable, retry_after_seconds
from core.llm.streaming import events, open_stream, request_headers
from core.llm.types import ChatMessage, Completion, Delta, LLMError, Probe, ToolCall, Usage
from core.llm.wire import decode_chunk, decode_completion, merge_tool_calls
from core.logging import get_logger
from core.settings import LLMSettings

if TYPE_CHECKING:
    import httpx2
    import openai

log = get_logger("kith.llm")
PROBE_TIMEOUT = 2.0  # /readyz: well inside a Kubernetes probe's timeoutSeconds (5 in infra/)
T = TypeVar("T")


@dataclass(slots=True)
class Endpoint:
    """One model server. Its SDK client is made on first use: importing ``openai`` costs
    half a second, which ``kith serve`` should not spend before it answers ``/healthz``."""

    url: str
    label: str
    settings: LLMSettings
    down_until: float = 0.0
    weights: dict[str, int] = field(default_factory=dict)
    _client: openai.AsyncOpenAI | None = None
    _http: httpx2.AsyncClient | None = None  # the client's HTTP client (ours: we made it)
    _headers: dict[str, str] = field(default_factory=dict)
    _chat_url: str = ""

    def healthy(self, now: float) -> bool:
        return now >= self.down_until

    @property
    def client(self) -> openai.AsyncOpenAI:
        if self._client is None:
            import openai

            settings = self.settings
            timeout = openai.Timeout(settings.timeout, connect=settings.connect_timeout)
            # aiohttp's pool costs half the CPU of httpx's with many open streams
            self._http = openai.DefaultAioHttpClient(timeout=timeout)
            self._client = openai.AsyncOpenAI(
                base_url=self.url, api_key=settings.api_key.get_secret_value(), max_retries=0,
                timeout=timeout, http_client=self._http,
            )
            self._headers = request_headers(self._client)
            self._chat_url = f"{self._client.base_url}chat/completions"  # it ends with /
        return self._client

    async def open_chat_stream(self, body: bytes) -> httpx2.Response:
        """POST /chat/completions streamed (core/llm/streaming.py: the SDK's HTTP client and
        errors without its per-request machinery)."""
        client = self.client
        assert self._http is not None
        return await open_stream(client, self._http, self._chat_url, self._headers, body)


def endpoint_label(url: str) -> str:
    """host:port/path without credentials, safe for logs and metric labels."""
    parsed = httpx.URL(url)
    port = f":{parsed.port}" if parsed.port else ""
    return f"{parsed.host}{port}{parsed.path.rstrip('/')}"


def rank(urls: Sequence[str], route_key: str) -> list[int]:
    """Rendezvous hashing: a stable per-key order of endpoints (pure)."""

    def score(i: int) -> bytes:
        return hashlib.blake2b(f"{route_key}|{urls[i]}".encode(), digest_size=8).digest()

    return sorted(range(len(urls)), key=score, reverse=True)


class OpenAIChatModel:
    """Speaks the OpenAI wire format through the SDK's transport (errors, SSE, timeouts).

    Bodies go through ``client.post`` with plain dicts: the SDK's typed request transform
    and per-chunk model construction cost ~6 ms of CPU per reply, more than all of Kith.
    """

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        self.endpoints = [Endpoint(url=url, label=endpoint_label(url), settings=settings)
                          for url in settings.base_urls]

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            if endpoint._client is not None:
                await endpoint._client.close()

    # -- routing -------------------------------------------------------------------------

    def _candidates(self, route_key: str) -> list[Endpoint]:
        order = [self.endpoints[i] for i in rank([e.url for e in self.endpoints], route_key)]
        now = time.monotonic()
        healthy = [e for e in order if e.healthy(now)]
        return healthy + [e for e in order if not e.healthy(now)]

    def _failed(self, endpoint: Endpoint, exc: BaseException) -> None:
        kind = error_kind(exc)
        metrics.LLM_ERRORS.labels(endpoint=endpoint.label, kind=kind).inc()
        rest = self.settings.down_cooldown
        if kind == "429":  # busy, not broken: for as long as it asked
            asked = retry_after_seconds(exc)
            rest = min(asked, self.settings.max_retry_after) if asked is not None else rest
        endpoint.down_until = max(endpoint.down_until, time.monotonic() + rest)
        log.warning("llm_endpoint_failed", endpoint=endpoint.label, kind=kind,
                    resting_s=round(rest, 2))

    def _wait(self, state: RetryCallState) -> float:
        if any(e.healthy(time.monotonic()) for e in self.endpoints):
            return 0.0  # another endpoint can take it now: fail over at once
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(exc) if exc else None
        if asked is not None:
            return min(asked, self.settings.max_retry_after)
        backoff = wait_random_exponential(multiplier=0.25, max=self.settings.backoff_max)
        return float(backoff(state))

    def _retrying(self, attempts: int) -> AsyncRetrying:
        def retry(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            return exc is not None and is_retryable(exc)

        return AsyncRetrying(stop=stop_after_attempt(max(1, attempts)), wait=self._wait,
                             retry=retry, reraise=True)

    async def _call(self, route_key: str, used: list[Endpoint], attempts: int,
                    call: Callable[[Endpoint], Any]) -> Any:
        """``call`` on the best endpoint, failing over and retrying per the policy."""
        async def once() -> Any:
            endpoint = self._candidates(route_key)[0]
            used.append(endpoint)
            try:
                return await call(endpoint)
            except Exception as exc:
                self._failed(endpoint, exc)
                raise

        try:
            return await self._retrying(attempts)(once)
        except Exception as exc:
            raise LLMError(self._describe(exc, used)) from exc

    # -- calls ---------------------------------------------------------------------------

    def _params(self, model: str | None, max_tokens: int | None) -> dict[str, Any]:
        return {
            "model": model or self.settings.model,
            "max_tokens": max_tokens or self.settings.max_reply_tokens,
            "temperature": self.settings.temperature,
        }

    async def stream(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, tools: Sequence[dict[str, Any]] = (),
    ) -> AsyncIterator[Delta]:
        body = {"messages": [m.wire() for m in messages], "stream": True,
                "stream_options": {"include_usage": True}, **self._params(model, max_tokens)}
        if tools:
            body["tools"] = list(tools)
        encoded = orjson.dumps(body)  # once, not per attempt; 5x faster than the SDK's json
        used: list[Endpoint] = []

        async def opened(endpoint: Endpoint) -> tuple[Endpoint, Any]:
            return endpoint, await endpoint.open_chat_stream(encoded)

        while True:
            budget = self.settings.max_attempts - len(used)
            endpoint, response = await self._call(route_key, used, budget, opened)
            try:
                async for delta in self._read(endpoint, response):
                    yield delta
                return
            except LLMError as err:
                if err.partial or len(used) >= self.settings.max_attempts:
                    raise
                log.warning("llm_stream_retry", endpoint=endpoint.label)  # before any token

    async def _read(self, endpoint: Endpoint, response: Any) -> AsyncIterator[Delta]:
        finish: str | None = None
        usage: Usage | None = None
        got_text = False
        calls: dict[int, list[str]] = {}
        try:
            async for chunk in events(response):
                merge_tool_calls(calls, chunk)
                text, chunk_finish, chunk_usage = decode_chunk(chunk)
                usage = chunk_usage or usage
                finish = chunk_finish or finish
                if text:
                    got_text = True
                    yield Delta(text=text, endpoint=endpoint.label)
        except Exception as exc:
            self._failed(endpoint, exc)
            raise LLMError(
                f"the reply from {endpoint.label} broke off ({error_kind(exc)})", partial=got_text
            ) from exc
        if finish is None:
            self._failed(endpoint, RuntimeError("stream ended without finish_reason"))
            raise LLMError(f"the reply from {endpoint.label} ended early", partial=got_text)
        if usage:
            metrics.LLM_TOKENS.labels(kind="prompt").inc(usage.prompt_tokens)
            metrics.LLM_TOKENS.labels(kind="completion").inc(usage.completion_tokens)
        done = tuple(ToolCall(c[0] or f"call_{i}", c[1], c[2]) for i, c in sorted(calls.items()))
        yield Delta(finish_reason=finish, usage=usage, endpoint=endpoint.label, tool_calls=done)

    async def complete(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
        background: bool = False,
    ) -> Completion:
        params = self._params(model, max_tokens)
        if response_format is not None:
            params["response_format"] = response_format
        body = {"messages": [m.wire() for m in messages], **params}

        async def call(endpoint: Endpoint) -> Completion:
            resp: Any = await endpoint.client.post("/chat/completions", body=orjson.dumps(body),
                                                   cast_to=object)
            return decode_completion(resp, endpoint.label)

        done: Completion = await self._call(route_key, [], self.settings.max_attempts, call)
        return done

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        model = self.settings.embed_model or self.settings.model

        async def call(endpoint: Endpoint) -> list[list[float]]:
            resp = await endpoint.client.embeddings.create(model=model, input=list(texts))
            return [list(item.embedding) for item in sorted(resp.data, key=lambda d: d.index)]

        vectors: list[list[float]] = await self._call("embed", [], self.settings.max_attempts,
                                                      call)
        return vectors

    async def probe(self) -> dict[str, Probe]:
        """What each endpoint answers to ``GET /models``, all at once, bounded by the
        connect timeout and at most ``PROBE_TIMEOUT``. Errors are kinds (``refused``,
        ``timeout``, ``503``…), never the upstream's text."""
        limit = min(self.settings.connect_timeout, PROBE_TIMEOUT)

        async def one(endpoint: Endpoint) -> Probe:
            try:
                page = await asyncio.wait_for(endpoint.client.models.list(timeout=limit), limit)
            except Exception as exc:
                return Probe(error=error_kind(exc))
            return Probe(models=tuple(m.id for m in page.data))

        found = await asyncio.gather(*(one(e) for e in self.endpoints))
        return {e.label: p for e, p in zip(self.endpoints, found, strict=True)}

    @staticmethod
    def _describe(exc: BaseException, used: list[Endpoint]) -> str:
        tried = ", ".join(dict.fromkeys(e.label for e in used)) or "no endpoint"
        return f"no language model answered (tried {tried}; last error: {error_kind(exc)})"
