"""Splitting a long reply into messages the platform accepts (pure).

Greedy on a prefix window and cut at the best boundary — paragraph, sentence, line, word —
so chunks already sent never change as more text streams in.
"""

from __future__ import annotations

import re

LIMITS = {
    "telegram": 4096,  # characters per message
    "matrix": 12_000,  # events are limited to 64 KiB; formatted HTML roughly doubles text
    "twilio": 1600,  # WhatsApp through Twilio
    "cloud": 4096,  # WhatsApp Cloud API text body
}
_SENTENCE = re.compile(r"[.!?…][)\"'”’]*\s")


def _cut(window: str) -> int:
    """Where to end a chunk inside ``window``: paragraph, then sentence, line, word."""
    floor = len(window) // 3
    cut = window.rfind("\n\n")
    if cut > floor:
        return cut
    ends = [m.end() for m in _SENTENCE.finditer(window)]
    if ends and ends[-1] > floor:
        return ends[-1]
    for sep in ("\n", " "):
        cut = window.rfind(sep)
        if cut > floor:
            return cut
    return len(window)


def split_text(text: str, limit: int) -> list[str]:
    """Chunks of at most ``limit`` characters, none blank; [] for blank text."""
    chunks: list[str] = []
    while len(text) > limit:
        cut = _cut(text[:limit])
        head = text[:cut].rstrip()
        if head.strip():
            chunks.append(head)
        text = text[cut:].lstrip()
    if text.strip():
        chunks.append(text)
    return chunks
