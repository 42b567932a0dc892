"""Photos for a vision model: decoded and resized with Pillow, sent as a JPEG data URL."""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

MAX_PIXELS = 64_000_000  # a decompression bomb is refused before it is decoded
JPEG_QUALITY = 85


class BadImage(Exception):
    """The bytes are not an image Pillow can open, or it is corrupt."""


@dataclass(frozen=True, slots=True)
class PreparedImage:
    data_url: str
    width: int
    height: int
    bytes_sent: int  # size of the JPEG inside the data URL


def prepare_image(data: bytes, max_side: int) -> PreparedImage:
    """Decode fully (a truncated file fails here), fix orientation, fit in ``max_side``."""
    from PIL import Image, ImageOps, UnidentifiedImageError  # here: only a photo pays for it

    try:
        with Image.open(io.BytesIO(data)) as probe:
            if probe.width * probe.height > MAX_PIXELS:
                raise BadImage(f"{probe.width}×{probe.height} is too many pixels")
            scale = min(1.0, max_side / max(probe.width, probe.height, 1))
            # JPEG: decode straight at 1/2, 1/4 or 1/8 scale when that still covers the target
            probe.draft("RGB", (int(probe.width * scale), int(probe.height * scale)))
            probe.load()
            image = ImageOps.exif_transpose(probe)
            image = image.convert("RGB")
    except (UnidentifiedImageError, OSError, ValueError, Image.DecompressionBombError) as err:
        raise BadImage(str(err) or type(err).__name__) from None
    image.thumbnail((max_side, max_side), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=JPEG_QUALITY)
    jpeg = out.getvalue()
    url = "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")
    return PreparedImage(url, image.width, image.height, len(jpeg))


def size_of(data_url: str) -> tuple[int, int]:
    """(width, height) of an image inside a data URL (for tests and the benchmark)."""
    from PIL import Image

    raw = base64.b64decode(data_url.split(",", 1)[1])
    with Image.open(io.BytesIO(raw)) as image:
        return image.width, image.height
