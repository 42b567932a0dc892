"""Real media made on the spot for tests and benchmarks: OGG/Opus voice notes, JPEG photos."""

from __future__ import annotations

import io
import math

import av
import numpy as np
from PIL import Image, ImageDraw


def ogg_voice(seconds: float, rate: int = 48_000) -> bytes:
    """An OGG/Opus mono clip (a 440 Hz tone), the way Telegram and WhatsApp send voice."""
    out = io.BytesIO()
    with av.open(out, "w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=rate, layout="mono")
        t = np.arange(int(rate * seconds)) / rate
        pcm = (np.sin(2 * math.pi * 440 * t) * 8000).astype(np.int16)
        for start in range(0, len(pcm), 960):
            frame = av.AudioFrame.from_ndarray(pcm[start:start + 960].reshape(1, -1),
                                               format="s16", layout="mono")
            frame.rate = rate
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def jpeg(width: int = 3000, height: int = 2000, colour: str = "red",
         quality: int = 92, noise: bool = False) -> bytes:
    """A photo of a 'car' (a coloured box on grey); ``noise`` makes it as big as a camera's."""
    if noise:
        rng = np.random.default_rng(7)
        image = Image.fromarray(rng.integers(0, 255, (height, width, 3), dtype=np.uint8))
    else:
        image = Image.new("RGB", (width, height), "grey")
    draw = ImageDraw.Draw(image)
    draw.rectangle((width // 4, height // 3, 3 * width // 4, 2 * height // 3), fill=colour)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=quality)
    return out.getvalue()


def corrupt_jpeg() -> bytes:
    """The first part of a real JPEG: a header Pillow recognises, then nothing."""
    return jpeg(800, 600)[:600]
