"""What the core asks of a channel to get an attachment's bytes: the ``MediaSource`` seam."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from core.events import Attachment


class MediaTooLarge(Exception):
    """The file is larger than the limit; nothing past the limit was downloaded."""

    def __init__(self, size: int | None, limit: int) -> None:
        super().__init__(f"media of {size if size is not None else 'over'} bytes; limit {limit}")
        self.size = size
        self.limit = limit


class MediaUnavailable(Exception):
    """The platform would not hand the file over (expired, deleted, refused)."""


@dataclass(frozen=True, slots=True)
class Fetched:
    data: bytes
    mime_type: str


@runtime_checkable
class MediaSource(Protocol):
    """Implemented by channels that can download their attachments.

    ``limit`` is in bytes: raise :class:`MediaTooLarge` as soon as the platform reports a
    larger size, or the download passes it (stop reading there). Other failures raise
    :class:`MediaUnavailable` with a message safe to log (no tokens, no signed URLs).
    """

    async def fetch_media(self, attachment: Attachment, limit: int) -> Fetched: ...

