"""The added latency of voice notes and photos: ``core.media`` against loopback fakes.

    python -m bench.media [--quick]

Three processes: this one (measured: only ``core.media`` runs here), the fakes (a loopback
file server standing in for Telegram's file endpoint, and the fake speech server —
multipart, as OpenAI takes it — which waits ``SPEECH_DELAY`` before answering; subtracted),
and the fake LLM, which answers the one description call per photo at once. Paths:

* *voice, as is*: a 30 s OGG/Opus voice note → download → duration probe (PyAV) → upload
  to a vLLM-like server that reads OGG.
* *voice → WAV*: the same, converted to 16 kHz mono WAV with PyAV first (whisper.cpp).
* *photo*: a ~4 MB camera-sized JPEG → download → decode, resize to 1120 px, JPEG → the
  description request carrying the data URL.

"Bytes sent" is what goes to the server: the audio body, or the JPEG inside the data URL.
Latency includes loopback HTTP and the fakes' own request parsing (another process on the
same cores); CPU is this process's only (threads included), so it is the steadier figure on
a shared machine.
"""

from __future__ import annotations

import argparse
import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from bench.common import ProcessMeter, machine, percentile, print_table
from bench.harness import fake_llm
from core.events import Addressed, Attachment, ChatKind, ConversationKey, Inbound, Sender, Trust
from core.llm import OpenAIChatModel
from core.logging import configure
from core.media import Fetched, MediaPipeline
from core.media.audio import to_wav
from core.media.images import prepare_image
from core.settings import LLMSettings, MediaSettings, SpeechSettings
from tests.fakes.loopback import serve_loopback
from tests.fakes.media_files import jpeg, ogg_voice
from tests.fakes.speech import FakeSpeech, running_fake_speech

SPEECH_DELAY = 0.05


class FileServer:
    """Serves bytes by name over loopback HTTP; the bench's MediaSource downloads from it."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}

    async def get(self, request: Request) -> Response:
        return Response(self.files[request.path_params["name"]],
                        media_type="application/octet-stream")

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/file/{name}", self.get)])


@dataclass
class HttpSource:
    base: str
    client: httpx.AsyncClient

    async def fetch_media(self, attachment: Attachment, limit: int) -> Fetched:
        response = await self.client.get(f"{self.base}/file/{attachment.ref}")
        response.raise_for_status()
        return Fetched(response.content, attachment.mime_type)


@dataclass
class Run:
    label: str
    latencies: list[float] = field(default_factory=list)
    cpu: float = 0.0
    bytes_sent: int = 0
    rss_mb: float = 0.0


def inbound(n: int, attachment: Attachment) -> Inbound:
    return Inbound(id=f"bench:{n}", conversation=ConversationKey("kith", "bench", str(n)),
                   sender=Sender("p1", "Ana"), text="", trust=Trust.OWNER,
                   addressed=Addressed.DIRECT, chat=ChatKind.DIRECT, attachments=(attachment,))


async def measure(label: str, pipeline: MediaPipeline, attachment: Attachment, count: int,
                  delay: float, bytes_sent: int) -> Run:
    run = Run(label, bytes_sent=bytes_sent)
    await pipeline.prepare(inbound(-1, attachment))  # warm up: imports, pools, codecs
    meter = ProcessMeter()
    meter.start()
    for n in range(count):
        started = time.perf_counter()
        turn = await pipeline.prepare(inbound(n, attachment))
        run.latencies.append(time.perf_counter() - started - delay)
        assert not turn.notice, turn.notice
        meter.sample()
    cpu, _ = meter.stop()
    run.cpu = cpu / count
    run.rss_mb = meter.peak_rss / 2**20
    return run


def samples() -> tuple[bytes, bytes]:
    return ogg_voice(30.0), jpeg(2800, 1900, noise=True, quality=90)


async def serve_fakes() -> None:
    """The fakes' process: print READY <files> <speech>, serve until stdin closes."""
    voice, photo = samples()
    files = FileServer()
    files.files = {"voice.ogg": voice, "photo.jpg": photo}
    speech = FakeSpeech(model="whisper-bench", delay=SPEECH_DELAY)
    speech.script(*["ok"] * 10_000)
    async with serve_loopback(files.app()) as base, running_fake_speech(speech) as speech_url:
        print(f"READY {base} {speech_url}", flush=True)
        await asyncio.to_thread(sys.stdin.read)


@contextmanager
def fakes() -> Iterator[tuple[str, str]]:
    proc = subprocess.Popen([sys.executable, "-m", "bench.media", "--serve-fakes"],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().split()
        if not line or line[0] != "READY":
            raise RuntimeError(f"fakes did not start: {line}")
        yield line[1], line[2]
    finally:
        assert proc.stdin is not None
        proc.stdin.close()
        proc.wait(timeout=10)


async def main(count: int) -> None:
    configure("WARNING", False)
    voice, photo = samples()
    runs: list[Run] = []
    with fakes() as (base, speech_url), fake_llm(reply="A red car on a grey street.") as llm_url:
        await _paths(count, voice, photo, base, speech_url, llm_url, runs)
    _report(count, voice, photo, runs)


async def _paths(count: int, voice: bytes, photo: bytes, base: str, speech_url: str,
                 llm_url: str, runs: list[Run]) -> None:
    async with httpx.AsyncClient() as client:
        model = OpenAIChatModel(LLMSettings(base_urls=[llm_url], model="llama-bench"))
        media = MediaSettings()
        source = HttpSource(base, client)
        for label, convert in (("voice 30 s OGG, as is (vLLM)", "none"),
                               ("voice 30 s OGG → WAV (whisper.cpp)", "wav")):
            pipeline = MediaPipeline(model, SpeechSettings(
                base_url=speech_url, model="whisper-bench", convert=convert), media)
            pipeline.register("kith", "bench", source)
            attachment = Attachment("audio", "voice.ogg", mime_type="audio/ogg",
                                    size=len(voice), duration=30)
            sent = len(to_wav(voice)) if convert == "wav" else len(voice)
            runs.append(await measure(label, pipeline, attachment, count, SPEECH_DELAY, sent))
            await pipeline.aclose()
        pipeline = MediaPipeline(model, SpeechSettings(), media, vision_model="llama-bench")
        pipeline.register("kith", "bench", source)
        attachment = Attachment("image", "photo.jpg", mime_type="image/jpeg", size=len(photo))
        sent = prepare_image(photo, media.image_max_side).bytes_sent
        runs.append(await measure(f"photo {len(photo) / 1e6:.1f} MB JPEG → 1120 px", pipeline,
                                  attachment, count, 0.0, sent))
        await model.aclose()


def _report(count: int, voice: bytes, photo: bytes, runs: list[Run]) -> None:
    print(f"machine: {machine()}")
    print(f"voice note {len(voice):,} bytes (30 s OGG/Opus); photo {len(photo):,} bytes "
          f"(2800×1900); {count} runs each, one at a time; speech server delay "
          f"{SPEECH_DELAY * 1000:.0f} ms subtracted")
    print_table("Added latency per message (download + conversion + request)",
                ["path", "p50 ms", "p99 ms", "CPU ms/msg", "bytes sent", "peak RSS MB",
                 "model calls/msg"],
                [[r.label, percentile(r.latencies, 50) * 1000, percentile(r.latencies, 99) * 1000,
                  r.cpu * 1000, f"{r.bytes_sent:,}", r.rss_mb,
                  "1 (speech)" if r.label.startswith("voice") else "1 (describe)"]
                 for r in runs])


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10 runs per path instead of 40")
    parser.add_argument("--serve-fakes", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    asyncio.run(serve_fakes() if args.serve_fakes else main(10 if args.quick else 40))


if __name__ == "__main__":
    cli()
