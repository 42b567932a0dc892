"""Photos kept in memory for the next few turns of their conversation (never on disk)."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from core.ids import ConversationKey

MAX_CONVERSATIONS = 256
MAX_IMAGES = 4  # per prompt, newest kept


@dataclass(slots=True)
class _Kept:
    url: str
    turns_left: int
    until: float


class RecentImages:
    def __init__(self, turns: int, seconds: float,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.turns = turns
        self.seconds = seconds
        self.clock = clock
        self._kept: OrderedDict[ConversationKey, list[_Kept]] = OrderedDict()

    def take(self, conversation: ConversationKey) -> tuple[str, ...]:
        """Images a later turn still sees (each use counts one of its turns)."""
        now = self.clock()
        kept = [k for k in self._kept.get(conversation, ()) if k.turns_left > 0 and k.until > now]
        for item in kept:
            item.turns_left -= 1
        if kept:
            self._kept[conversation] = kept
            self._kept.move_to_end(conversation)
        else:
            self._kept.pop(conversation, None)
        return tuple(k.url for k in kept[-MAX_IMAGES:])

    def add(self, conversation: ConversationKey, urls: tuple[str, ...]) -> None:
        if self.turns <= 0 or not urls:
            return
        until = self.clock() + self.seconds
        items = self._kept.setdefault(conversation, [])
        known = {k.url for k in items}  # a turn run again (held for a model) adds nothing
        items.extend(_Kept(url, self.turns, until) for url in urls if url not in known)
        del items[:-MAX_IMAGES]
        self._kept.move_to_end(conversation)
        while len(self._kept) > MAX_CONVERSATIONS:
            self._kept.popitem(last=False)

    def forget(self, conversation: ConversationKey) -> None:
        self._kept.pop(conversation, None)

    def __len__(self) -> int:
        return sum(len(v) for v in self._kept.values())
