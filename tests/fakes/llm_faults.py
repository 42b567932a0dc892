"""Fault descriptions for the fake OpenAI-compatible server (see ``tests.fakes.llm``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

FaultKind = Literal["status", "hang", "cut"]


@dataclass(frozen=True, slots=True)
class Fault:
    """One misbehaviour of the fake server, applied to a single request.

    Build with the constructors: ``Fault.status(429, retry_after=1.0)``, ``Fault.hang()``,
    ``Fault.hang(after_chunks=2)``, ``Fault.cut(after_chunks=3)``.

    ``models``: whether the fault may also hit ``GET /v1/models`` (queued faults skip that
    endpoint by default, so health checks don't eat them).
    """

    kind: FaultKind
    status_code: int = 500
    retry_after: float | None = None
    message: str | None = None
    after_chunks: int | None = None
    models: bool = False

    @classmethod
    def status(
        cls,
        code: int,
        retry_after: float | None = None,
        message: str | None = None,
        *,
        models: bool = False,
    ) -> Fault:
        """Answer with HTTP ``code`` and an OpenAI-shaped error body.

        ``retry_after`` (seconds) sets ``Retry-After`` and ``retry-after-ms`` headers.
        """
        return cls(
            "status", status_code=code, retry_after=retry_after, message=message, models=models
        )

    @classmethod
    def hang(cls, after_chunks: int | None = None, *, models: bool = False) -> Fault:
        """Accept the request and never finish it (until the server stops).

        ``after_chunks=None``: not even headers are sent. ``after_chunks=N``: a stream sends
        its role chunk and N content chunks then stalls; a non-stream response sends headers
        and half its body then stalls.
        """
        return cls("hang", after_chunks=after_chunks, models=models)

    @classmethod
    def cut(cls, after_chunks: int = 0, *, models: bool = False) -> Fault:
        """Drop the connection mid-response.

        Streams send the role chunk and ``after_chunks`` content chunks, then the connection
        is closed without the terminating chunk / ``[DONE]``. Non-stream responses send
        headers (with the full Content-Length) and half the body, then close.
        """
        return cls("cut", after_chunks=after_chunks, models=models)

    @property
    def mid_response(self) -> bool:
        """True if the fault strikes after the response has started."""
        return self.kind == "cut" or (self.kind == "hang" and self.after_chunks is not None)
