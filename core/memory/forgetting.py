"""What ``/forget TEXT`` waits on until ``/forget yes``: the matching memories and the
words themselves (every message, reply, summary, list item and reminder holding them goes
too). Pure: how it is kept in the ``memory_forget_pending`` row of either backend."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Pending:
    ids: tuple[str, ...] = ()  # memory ids
    text: str = ""  # the words to forget wherever they are ("" before this was kept)


def encode(ids: Sequence[str], text: str) -> str:
    return json.dumps({"ids": list(ids), "text": text}, ensure_ascii=False)


def decode(raw: str | None) -> Pending:
    """The stored value; a row from before (comma-separated ids) reads as ids only."""
    if not raw:
        return Pending()
    if raw.startswith("{"):
        data = json.loads(raw)
        return Pending(tuple(str(i) for i in data.get("ids", [])), str(data.get("text", "")))
    return Pending(tuple(i for i in raw.split(",") if i))


def mentions(haystack: str | None, needle: str) -> bool:
    """``needle`` is in ``haystack``, ignoring case (Unicode case folding)."""
    return bool(haystack) and bool(needle) and needle.casefold() in str(haystack).casefold()
