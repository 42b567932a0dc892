"""Audio with PyAV (FFmpeg's libraries): how long a clip is, and WAV for servers that need it.

Telegram and WhatsApp voice notes are OGG/Opus. vLLM (librosa/soundfile, libsndfile ≥ 1.0.29)
and OpenAI's own API take OGG as is; whisper.cpp's server reads WAV (and MP3/FLAC) unless it
was started with ``--convert`` (which needs ffmpeg on that host). Set
``KITH_SPEECH__CONVERT=wav`` for whisper.cpp; the conversion is FFmpeg's, never ours.
"""

from __future__ import annotations

import io
from typing import Any

WAV_RATE = 16_000  # what Whisper works at


class BadAudio(Exception):
    """The bytes are not audio FFmpeg can read."""


def _av() -> Any:
    """PyAV, imported on first use (it costs ~0.1 s; a fleet without voice never pays it)."""
    import av

    return av


def probe_seconds(data: bytes) -> float:
    """The clip's duration in seconds, from the container or, failing that, by decoding."""
    av = _av()
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            if not container.streams.audio:
                raise BadAudio("no audio stream")
            if container.duration is not None and container.duration > 0:
                return float(container.duration / av.time_base)
            stream = container.streams.audio[0]
            samples = sum(frame.samples for frame in container.decode(stream))
            rate = stream.rate or WAV_RATE
            return float(samples / rate)
    except (av.error.FFmpegError, ValueError) as err:
        raise BadAudio(str(err)) from None


def to_wav(data: bytes) -> bytes:
    """Decode any audio FFmpeg reads and write 16 kHz mono 16-bit PCM WAV."""
    av = _av()
    out = io.BytesIO()
    try:
        with av.open(io.BytesIO(data), mode="r") as source, \
                av.open(out, mode="w", format="wav") as target:
            if not source.streams.audio:
                raise BadAudio("no audio stream")
            stream = target.add_stream("pcm_s16le", rate=WAV_RATE, layout="mono")
            resampler = av.AudioResampler(format="s16", layout="mono", rate=WAV_RATE)
            for frame in source.decode(source.streams.audio[0]):
                for piece in resampler.resample(frame):
                    target.mux(stream.encode(piece))
            for piece in resampler.resample(None):
                target.mux(stream.encode(piece))
            target.mux(stream.encode(None))
    except (av.error.FFmpegError, ValueError) as err:
        raise BadAudio(str(err)) from None
    return out.getvalue()
