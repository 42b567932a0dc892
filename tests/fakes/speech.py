"""A loopback fake of an OpenAI-compatible speech server (``POST /v1/audio/transcriptions``).

Real HTTP (uvicorn + Starlette in the caller's loop), multipart/form-data parsed the way the
OpenAI API takes it (``file`` part with a filename and content type, ``model``,
``response_format``, ``language``). It answers scripted transcripts in order and *fails* on
unexpected calls (an unscripted request gets a 500 and is recorded in ``unexpected``; call
``assert_done()`` at the end). Faults are queued. ``accepts`` mimics the server:
``"vllm"`` reads OGG, WAV, MP3, FLAC, WebM; ``"whisper.cpp"`` (without ``--convert``) reads
WAV, MP3 and FLAC only and answers 400 to OGG/Opus, as the real one fails to read it::

    fake = FakeSpeech(model="whisper-test")
    fake.script("turn on the lights")
    async with running_fake_speech(fake) as base_url:   # "http://127.0.0.1:PORT/v1"
        ...
    fake.assert_done()
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Literal

from starlette.applications import Starlette
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.fakes.loopback import serve_loopback

_MAGIC = {b"OggS": "ogg", b"RIFF": "wav", b"ID3": "mp3", b"fLaC": "flac",
          b"\x1aE\xdf\xa3": "webm"}
READS = {"vllm": {"ogg", "wav", "mp3", "flac", "webm"}, "whisper.cpp": {"wav", "mp3", "flac"}}


def container_of(data: bytes) -> str:
    for magic, name in _MAGIC.items():
        if data.startswith(magic):
            return name
    return "unknown"


@dataclass
class Upload:
    """One transcription request as received."""

    filename: str
    content_type: str
    data: bytes
    fields: dict[str, str]
    authorization: str

    @property
    def container(self) -> str:
        return container_of(self.data)


@dataclass(frozen=True)
class Scripted:
    text: str
    segments: tuple[dict[str, float], ...] = ()
    delay: float = 0.0


@dataclass
class FakeSpeech:
    model: str = "whisper-test"
    accepts: Literal["vllm", "whisper.cpp"] = "vllm"
    api_key: str = "EMPTY"
    uploads: list[Upload] = field(default_factory=list)
    unexpected: list[str] = field(default_factory=list)
    delay: float = 0.0  # the server's own processing time (benchmarks subtract it)
    _script: deque[Scripted] = field(default_factory=deque)
    _faults: deque[int] = field(default_factory=deque)

    def script(self, *texts: str, uncertain: bool = False) -> None:
        segment = ({"avg_logprob": -1.6, "no_speech_prob": 0.2},) if uncertain else ()
        self._script.extend(Scripted(t, segment) for t in texts)

    def inject(self, status: int, times: int = 1) -> None:
        self._faults.extend([status] * times)

    def assert_done(self) -> None:
        assert not self.unexpected, f"unexpected speech calls: {self.unexpected}"
        assert not self._script, f"scripted transcripts never asked for: {list(self._script)}"

    async def transcribe(self, request: Request) -> Response:
        if request.headers.get("authorization", "") != f"Bearer {self.api_key}":
            return _error(401, "invalid api key")
        if not request.headers.get("content-type", "").startswith("multipart/form-data"):
            self.unexpected.append("not multipart")
            return _error(415, "expected multipart/form-data")
        form = await request.form()
        upload = form.get("file")
        if not isinstance(upload, UploadFile):
            self.unexpected.append("no file part")
            return _error(400, "file is required")
        fields = {k: v for k, v in form.items() if isinstance(v, str)}
        got = Upload(upload.filename or "", upload.content_type or "", await upload.read(),
                     fields, request.headers.get("authorization", ""))
        self.uploads.append(got)
        if self._faults:
            return _error(self._faults.popleft(), "injected fault")
        if fields.get("model") != self.model:
            self.unexpected.append(f"model {fields.get('model')!r}")
            return _error(404, f"The model `{fields.get('model')}` does not exist.")
        if got.container not in READS[self.accepts]:
            return _error(400, f"failed to read audio data ({got.container})")
        if not self._script:
            self.unexpected.append(f"unscripted transcription of {got.filename}")
            return _error(500, "no transcript scripted for this request")
        answer = self._script.popleft()
        await asyncio.sleep(self.delay + answer.delay)
        body: dict[str, object] = {"text": answer.text}
        if fields.get("response_format") == "verbose_json":
            body |= {"task": "transcribe", "language": "english", "duration": 1.0,
                     "segments": [{"id": 0, "start": 0.0, "end": 1.0, "text": answer.text,
                                   "avg_logprob": -0.2, "no_speech_prob": 0.01,
                                   **seg} for seg in answer.segments or ({},)]}
        return JSONResponse(body)

    async def models(self, request: Request) -> Response:
        return JSONResponse({"object": "list", "data": [
            {"id": self.model, "object": "model", "owned_by": "fake"}]})

    def app(self) -> Starlette:
        return Starlette(routes=[
            Route("/v1/audio/transcriptions", self.transcribe, methods=["POST"]),
            Route("/v1/models", self.models, methods=["GET"]),
        ])


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error",
                                   "code": status}}, status_code=status)


@asynccontextmanager
async def running_fake_speech(fake: FakeSpeech) -> AsyncIterator[str]:
    async with serve_loopback(fake.app()) as base:
        yield f"{base}/v1"
