"""OpenAI wire-format builders for the fake LLM server (pure functions, no I/O)."""

from __future__ import annotations

import base64
import itertools
import json
import math
import re
import struct
import zlib
from typing import Any

CREATED = 1_700_000_000
_ids = itertools.count(1)
_WORD = re.compile(r"\S+\s*")
_ALNUM = re.compile(r"\w+")
_ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    408: "timeout_error",
    422: "invalid_request_error",
    429: "rate_limit_error",
}


def new_id(prefix: str) -> str:
    return f"{prefix}-fake{next(_ids)}"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


def error_body(status: int, message: str, code: str | None = None) -> bytes:
    fallback = "server_error" if status >= 500 else "invalid_request_error"
    err_type = _ERROR_TYPES.get(status, fallback)
    return dumps(
        {"error": {"message": message, "type": err_type, "param": None, "code": code or err_type}}
    )


def split_words(text: str) -> list[str]:
    """Whitespace words, each with its trailing whitespace; ``"".join(...) == text``."""
    words = _WORD.findall(text)
    lead = len(text) - len(text.lstrip())
    if words and lead:
        words[0] = text[:lead] + words[0]
    return words


def content_text(content: Any) -> str:
    """Text of a message ``content`` (a string or a list of content parts)."""
    if isinstance(content, str):
        return content
    if isinstance(content, list):
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def echo_reply(body: dict[str, Any]) -> str:
    """Default reply: ``"You said: <last user message content>"``."""
    for msg in reversed(body.get("messages") or []):
        if isinstance(msg, dict) and msg.get("role") == "user":
            return f"You said: {content_text(msg.get('content'))}"
    return "You said: "


def prompt_tokens(body: dict[str, Any]) -> int:
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    chars = sum(len(content_text(m.get("content"))) for m in messages)
    return chars // 4 + 4 * len(messages)


def usage(prompt: int, completion: int) -> dict[str, int]:
    return {
        "prompt_tokens": prompt,
        "completion_tokens": completion,
        "total_tokens": prompt + completion,
    }


def tool_call(call_id: str, name: str, arguments: str) -> dict[str, Any]:
    return {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}


def completion(model: str, message: dict[str, Any], finish: str, use: dict[str, int]) -> bytes:
    return dumps(
        {
            "id": new_id("chatcmpl"),
            "object": "chat.completion",
            "created": CREATED,
            "model": model,
            "system_fingerprint": None,
            "choices": [
                {"index": 0, "message": message, "logprobs": None, "finish_reason": finish}
            ],
            "usage": use,
        }
    )


class ChunkWriter:
    """Builds ``data: {chat.completion.chunk}\\n\\n`` SSE events for one stream."""

    def __init__(self, model: str) -> None:
        head = {
            "id": new_id("chatcmpl"),
            "object": "chat.completion.chunk",
            "created": CREATED,
            "model": model,
            "system_fingerprint": None,
        }
        self._prefix = b"data: " + dumps(head)[:-1] + b',"choices":['

    def choice(self, delta: dict[str, Any], finish: str | None = None) -> bytes:
        tail = dumps({"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish})
        return self._prefix + tail + b"]}\n\n"

    def usage(self, use: dict[str, int]) -> bytes:
        return self._prefix + b'],"usage":' + dumps(use) + b"}\n\n"

    def role(self) -> bytes:
        return self.choice({"role": "assistant", "content": "", "refusal": None})

    def content(self, text: str) -> bytes:
        return self.choice({"content": text})

    def tool_call_parts(self, call_id: str, name: str, arguments: str) -> list[bytes]:
        first = {
            "index": 0,
            "id": call_id,
            "type": "function",
            "function": {"name": name, "arguments": ""},
        }
        half = len(arguments) // 2
        parts = [self.choice({"tool_calls": [first]})]
        for piece in (arguments[:half], arguments[half:]):
            if piece:
                parts.append(
                    self.choice({"tool_calls": [{"index": 0, "function": {"arguments": piece}}]})
                )
        return parts

    def finish(self, reason: str) -> bytes:
        return self.choice({}, reason)


DONE = b"data: [DONE]\n\n"


def models_list(models: list[str]) -> bytes:
    return dumps(
        {
            "object": "list",
            "data": [
                {"id": m, "object": "model", "created": CREATED, "owned_by": "fake"} for m in models
            ],
        }
    )


def embed(text: str, dim: int) -> list[float]:
    """Deterministic L2-normalised hashing embedding of words and character trigrams."""
    vec = [0.0] * dim
    for word in _ALNUM.findall(text.lower()):
        feats = [(word, 1.0)]
        padded = f" {word} "
        feats += [(padded[i : i + 3], 0.5) for i in range(len(padded) - 2)]
        for feat, weight in feats:
            h = zlib.crc32(feat.encode())
            vec[h % dim] += weight if (h >> 16) & 1 else -weight
    norm = math.sqrt(sum(v * v for v in vec))
    if norm == 0.0:
        vec[0], norm = 1.0, 1.0
    return [v / norm for v in vec]


def _input_texts(raw: Any) -> list[str]:
    if isinstance(raw, str):
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(t, int) for t in raw):
        return [" ".join(map(str, raw))]
    if isinstance(raw, list):
        return [x if isinstance(x, str) else " ".join(map(str, x)) for x in raw]
    raise ValueError("'input' must be a string or a list")


def embeddings(body: dict[str, Any], default_model: str, default_dim: int) -> bytes:
    texts = _input_texts(body.get("input"))
    dim = int(body.get("dimensions") or default_dim)
    b64 = body.get("encoding_format") == "base64"
    data: list[dict[str, Any]] = []
    for i, text in enumerate(texts):
        vec = embed(text, dim)
        out: Any = base64.b64encode(struct.pack(f"<{dim}f", *vec)).decode() if b64 else vec
        data.append({"object": "embedding", "index": i, "embedding": out})
    tokens = sum(len(t) // 4 + 1 for t in texts)
    return dumps(
        {
            "object": "list",
            "data": data,
            "model": body.get("model") or default_model,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
    )


_TERM = re.compile(r"\w+")


def relevance(query: str, document: str) -> float:
    """The fake reranker's score: share of the query's words the document contains."""
    want = set(_TERM.findall(query.lower()))
    have = set(_TERM.findall(document.lower()))
    return len(want & have) / len(want) if want else 0.0


def rerank(body: dict[str, Any], default_model: str) -> bytes:
    """``POST /v1/rerank`` as vLLM and llama.cpp answer it (Jina/Cohere shape)."""
    query, documents = body.get("query"), body.get("documents")
    if not isinstance(query, str) or not isinstance(documents, list) \
            or not all(isinstance(d, str) for d in documents):
        raise ValueError("'query' must be a string and 'documents' a list of strings")
    results = sorted(
        ({"index": i, "relevance_score": relevance(query, d), "document": {"text": d}}
         for i, d in enumerate(documents)),
        key=lambda r: -float(r["relevance_score"]),  # type: ignore[arg-type]
    )
    top = body.get("top_n")
    if isinstance(top, int):
        results = results[:top]
    tokens = sum(len(d) // 4 + 1 for d in documents) + len(query) // 4 + 1
    return dumps({"id": new_id("rerank"), "model": body.get("model") or default_model,
                  "results": results, "usage": {"total_tokens": tokens}})
