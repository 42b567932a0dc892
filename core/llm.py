"""The ChatModel seam and its OpenAI-compatible implementation.

One tenacity policy (connect errors, timeouts, 429 honouring Retry-After, 5xx) with the
SDK's own retries off. Several base URLs: a conversation sticks to the same healthy
endpoint (its KV prefix cache lives there) by rendezvous hashing, and fails over to the
next endpoint in its ranking when that one is down.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import httpx
import openai
from tenacity import AsyncRetrying, RetryCallState, stop_after_attempt, wait_random_exponential

from core import metrics
from core.logging import get_logger
from core.settings import LLMSettings

log = get_logger("kith.llm")


@dataclass(frozen=True, slots=True)
class ChatMessage:
    role: str  # system, user, assistant, tool
    content: str
    images: tuple[str, ...] = ()  # data URLs, sent as OpenAI ``image_url`` content parts

    def wire(self) -> dict[str, Any]:
        if not self.images:
            return {"role": self.role, "content": self.content}
        parts: list[dict[str, Any]] = [
            {"type": "image_url", "image_url": {"url": url}} for url in self.images
        ]
        parts.append({"type": "text", "text": self.content})
        return {"role": self.role, "content": parts}


@dataclass(frozen=True, slots=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True, slots=True)
class Delta:
    """A piece of a streamed reply. The last one carries ``finish_reason``/``usage``."""

    text: str = ""
    finish_reason: str | None = None
    usage: Usage | None = None
    endpoint: str = ""


@dataclass(frozen=True, slots=True)
class Completion:
    text: str
    finish_reason: str | None
    usage: Usage
    endpoint: str
    tool_calls: tuple[dict[str, Any], ...] = ()


@dataclass(frozen=True, slots=True)
class Probe:
    """One endpoint's answer to ``GET /models``: the models it serves, or why it failed."""

    models: tuple[str, ...] = ()
    error: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class LLMError(Exception):
    """Every endpoint failed, or the reply broke off mid-stream."""

    def __init__(self, message: str, *, partial: bool = False) -> None:
        super().__init__(message)
        self.partial = partial


class ChatModel(Protocol):
    def stream(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[Delta]: ...

    async def complete(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
    ) -> Completion: ...

    async def embed(self, texts: Sequence[str]) -> list[list[float]]: ...


@dataclass(slots=True)
class Endpoint:
    url: str
    label: str
    client: openai.AsyncOpenAI
    down_until: float = 0.0
    weights: dict[str, int] = field(default_factory=dict)

    def healthy(self, now: float) -> bool:
        return now >= self.down_until


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


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait, from Retry-After / retry-after-ms."""
    if not isinstance(exc, openai.APIStatusError):
        return None
    headers = exc.response.headers
    try:
        if "retry-after-ms" in headers:
            return float(headers["retry-after-ms"]) / 1000
        if "retry-after" in headers:
            return float(headers["retry-after"])
    except ValueError:
        return None
    return None


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, openai.APIConnectionError | openai.APITimeoutError | httpx.TransportError):
        return True
    if isinstance(exc, openai.APIStatusError):
        return exc.status_code == 429 or exc.status_code >= 500
    return False


def _error_kind(exc: BaseException) -> str:
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return "connect"
    if isinstance(exc, openai.APIStatusError):
        return str(exc.status_code)
    return type(exc).__name__


def _usage(data: Any) -> Usage | None:
    if not isinstance(data, dict):
        return None
    return Usage(int(data.get("prompt_tokens") or 0), int(data.get("completion_tokens") or 0))


def decode_chunk(chunk: Any) -> tuple[str, str | None, Usage | None]:
    """(text, finish_reason, usage) of one ``chat.completion.chunk`` (pure, tolerant)."""
    if not isinstance(chunk, dict):
        return "", None, None
    text, finish = "", None
    for choice in chunk.get("choices") or ():
        delta = choice.get("delta") or {}
        text += delta.get("content") or ""
        finish = choice.get("finish_reason") or finish
    return text, finish, _usage(chunk.get("usage"))


def decode_completion(data: Any, endpoint: str) -> Completion:
    """A non-streamed ``chat.completion`` body as a Completion (pure)."""
    if not isinstance(data, dict) or not data.get("choices"):
        raise LLMError(f"{endpoint} answered without choices")
    choice = data["choices"][0]
    message = choice.get("message") or {}
    calls = tuple(message.get("tool_calls") or ())
    return Completion(message.get("content") or "", choice.get("finish_reason"),
                      _usage(data.get("usage")) or Usage(), endpoint, calls)


class OpenAIChatModel:
    """Speaks the OpenAI wire format through the SDK's transport (errors, SSE, timeouts).

    Bodies go through ``client.post`` with plain dicts: the SDK's typed request transform
    and per-chunk model construction cost ~6 ms of CPU per reply, more than all of Kith.
    """

    """ChatModel over one or more OpenAI-compatible servers (vLLM, llama.cpp)."""

    def __init__(self, settings: LLMSettings) -> None:
        self.settings = settings
        timeout = openai.Timeout(settings.timeout, connect=settings.connect_timeout)
        key = settings.api_key.get_secret_value()
        self.endpoints = [
            Endpoint(
                url=url,
                label=endpoint_label(url),
                client=openai.AsyncOpenAI(
                    base_url=url, api_key=key, max_retries=0, timeout=timeout,
                    # aiohttp's pool costs half the CPU of httpx's with many open streams
                    http_client=openai.DefaultAioHttpClient(timeout=timeout),
                ),
            )
            for url in settings.base_urls
        ]

    async def aclose(self) -> None:
        for endpoint in self.endpoints:
            await endpoint.client.close()

    # -- routing -------------------------------------------------------------------------

    def _candidates(self, route_key: str) -> list[Endpoint]:
        order = [self.endpoints[i] for i in rank([e.url for e in self.endpoints], route_key)]
        now = time.monotonic()
        healthy = [e for e in order if e.healthy(now)]
        return healthy + [e for e in order if not e.healthy(now)]

    def _failed(self, endpoint: Endpoint, exc: BaseException) -> None:
        kind = _error_kind(exc)
        metrics.LLM_ERRORS.labels(endpoint=endpoint.label, kind=kind).inc()
        if kind != "429":
            endpoint.down_until = time.monotonic() + self.settings.down_cooldown
        log.warning("llm_endpoint_failed", endpoint=endpoint.label, kind=kind, error=str(exc))

    def _wait(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        asked = retry_after_seconds(exc) if exc else None
        if asked is not None:
            return min(asked, self.settings.max_retry_after)
        if isinstance(exc, openai.APIStatusError | httpx.TimeoutException | openai.APITimeoutError):
            base: float = wait_random_exponential(multiplier=0.25, max=self.settings.backoff_max)(
                state
            )
            return base
        # connection refused: fail over at once if another endpoint is healthy
        if any(e.healthy(time.monotonic()) for e in self.endpoints):
            return 0.0
        return float(wait_random_exponential(multiplier=0.25, max=self.settings.backoff_max)(state))

    def _retrying(self) -> AsyncRetrying:
        def retry(state: RetryCallState) -> bool:
            exc = state.outcome.exception() if state.outcome else None
            return exc is not None and is_retryable(exc)

        return AsyncRetrying(
            stop=stop_after_attempt(self.settings.max_attempts),
            wait=self._wait,
            retry=retry,
            reraise=True,
        )

    # -- calls ---------------------------------------------------------------------------

    def _params(self, model: str | None, max_tokens: int | None) -> dict[str, Any]:
        return {
            "model": model or self.settings.model,
            "max_tokens": max_tokens or self.settings.max_reply_tokens,
            "temperature": self.settings.temperature,
        }

    async def stream(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None,
    ) -> AsyncIterator[Delta]:
        wire = [m.wire() for m in messages]
        params = self._params(model, max_tokens)
        used: list[Endpoint] = []

        async def open_stream() -> tuple[Endpoint, Any]:
            endpoint = self._candidates(route_key)[0]
            used.append(endpoint)
            try:
                body = {"messages": wire, "stream": True,
                        "stream_options": {"include_usage": True}, **params}
                response = await endpoint.client.post(
                    "/chat/completions", body=body, cast_to=object, stream=True,
                    stream_cls=openai.AsyncStream[object],
                )
            except Exception as exc:
                self._failed(endpoint, exc)
                raise
            return endpoint, response

        try:
            opened: tuple[Endpoint, Any] = await self._retrying()(open_stream)
            endpoint, response = opened
        except Exception as exc:
            raise LLMError(self._describe(exc, used)) from exc
        async for delta in self._read(endpoint, response):
            yield delta

    async def _read(self, endpoint: Endpoint, response: Any) -> AsyncIterator[Delta]:
        finish: str | None = None
        usage: Usage | None = None
        got_text = False
        try:
            async for chunk in response:
                text, chunk_finish, chunk_usage = decode_chunk(chunk)
                usage = chunk_usage or usage
                finish = chunk_finish or finish
                if text:
                    got_text = True
                    yield Delta(text=text, endpoint=endpoint.label)
        except Exception as exc:
            self._failed(endpoint, exc)
            raise LLMError(
                f"the reply from {endpoint.label} broke off ({_error_kind(exc)})", partial=got_text
            ) from exc
        if finish is None:
            self._failed(endpoint, RuntimeError("stream ended without finish_reason"))
            raise LLMError(f"the reply from {endpoint.label} ended early", partial=got_text)
        if usage:
            metrics.LLM_TOKENS.labels(kind="prompt").inc(usage.prompt_tokens)
            metrics.LLM_TOKENS.labels(kind="completion").inc(usage.completion_tokens)
        yield Delta(finish_reason=finish, usage=usage, endpoint=endpoint.label)

    async def complete(
        self, messages: Sequence[ChatMessage], *, route_key: str, model: str | None = None,
        max_tokens: int | None = None, response_format: dict[str, Any] | None = None,
    ) -> Completion:
        wire = [m.wire() for m in messages]
        params = self._params(model, max_tokens)
        if response_format is not None:
            params["response_format"] = response_format
        used: list[Endpoint] = []

        async def call() -> Completion:
            endpoint = self._candidates(route_key)[0]
            used.append(endpoint)
            try:
                resp: Any = await endpoint.client.post(
                    "/chat/completions", body={"messages": wire, **params}, cast_to=object
                )
            except Exception as exc:
                self._failed(endpoint, exc)
                raise
            return decode_completion(resp, endpoint.label)

        try:
            return await self._retrying()(call)
        except Exception as exc:
            raise LLMError(self._describe(exc, used)) from exc

    async def embed(self, texts: Sequence[str]) -> list[list[float]]:
        model = self.settings.embed_model or self.settings.model
        used: list[Endpoint] = []

        async def call() -> list[list[float]]:
            endpoint = self._candidates("embed")[0]
            used.append(endpoint)
            try:
                resp = await endpoint.client.embeddings.create(model=model, input=list(texts))
            except Exception as exc:
                self._failed(endpoint, exc)
                raise
            return [list(item.embedding) for item in sorted(resp.data, key=lambda d: d.index)]

        try:
            return await self._retrying()(call)
        except Exception as exc:
            raise LLMError(self._describe(exc, used)) from exc

    async def probe(self) -> dict[str, Probe]:
        """What each endpoint answers to ``GET /models``."""
        result: dict[str, Probe] = {}
        for endpoint in self.endpoints:
            try:
                page = await endpoint.client.models.list(timeout=self.settings.connect_timeout)
                result[endpoint.label] = Probe(models=tuple(m.id for m in page.data))
            except Exception as exc:
                result[endpoint.label] = Probe(error=f"{_error_kind(exc)}: {exc}")
        return result

    @staticmethod
    def _describe(exc: BaseException, used: list[Endpoint]) -> str:
        tried = ", ".join(dict.fromkeys(e.label for e in used)) or "no endpoint"
        return f"no language model answered (tried {tried}; last error: {_error_kind(exc)})"
