"""Text that crossed an edge: whatever came in, valid Unicode goes on (pure)."""

from __future__ import annotations


def valid(text: str) -> str:
    """Lone surrogates (``"\\ud800"`` in JSON, undecodable bytes kept by ``surrogateescape``)
    become U+FFFD; well-formed text is returned as is, pairs written as escapes are joined."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")


def decode(data: bytes) -> str:
    """Bytes from outside as text: invalid UTF-8 becomes U+FFFD, never an exception."""
    return valid(data.decode("utf-8", "replace"))
