"""The web chat's response stream: what the relay carries for one message, checked against
the stored reply.

:func:`follow` yields the reply's text as the delivering process publishes it (wherever
that process is). It follows one delivery attempt; a later attempt (a retried delivery, or
another replica that took the turn over) continues the stream only where it repeats what was
already sent. When pieces may have been lost (``gap``), or nothing arrived for ``quiet``
seconds, the stored reply decides: once it is stored, the rest of it is sent and the stream
ends. When what was sent cannot be continued truthfully, the stream is cut
(:class:`StreamCut`): the page then picks the stored reply up (``GET /reply``).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable

from core.relay import Piece, Subscription
from core.store.base import Delivery, InboxStatus

QUIET = 2.0  # seconds without a piece before the store is asked
STORED = (InboxStatus.ANSWERED, InboxStatus.DELIVERED, InboxStatus.FAILED,
          InboxStatus.UNDELIVERABLE, InboxStatus.DONE)


class StreamCut(Exception):
    """The response cannot carry the reply truthfully: end it abruptly."""


Stored = Callable[[], Awaitable[Delivery | None]]


class _Attempt:
    """The pieces of one delivery attempt, put in ``seq`` order."""

    def __init__(self, attempt: str) -> None:
        self.attempt = attempt
        self.text = ""
        self.expect = 0
        self.waiting: dict[int, Piece] = {}
        self.ended = False

    def add(self, piece: Piece) -> None:
        self.waiting[piece.seq] = piece
        while self.expect in self.waiting:
            got = self.waiting.pop(self.expect)
            self.expect += 1
            if got.end:
                self.ended = True
                return
            self.text += got.text

    @property
    def missing(self) -> bool:
        return bool(self.waiting)


def _rest(sent: str, text: str) -> str | None:
    """What ``text`` adds to ``sent``; '' when it only repeats it; None when they differ."""
    if text.startswith(sent):
        return text[len(sent):]
    return "" if sent.startswith(text) else None


async def follow(sub: Subscription, stored: Stored, *, quiet: float = QUIET,
                 ) -> AsyncIterator[str]:
    sent = ""
    current: _Attempt | None = None
    asked = 0.0  # when the store was last asked
    loop = asyncio.get_running_loop()
    while True:
        piece = await sub.next(quiet)
        if sub.closed:
            raise StreamCut("the relay closed")
        if piece is not None:
            if current is None or piece.attempt != current.attempt:
                current = _Attempt(piece.attempt)  # another attempt: it must repeat `sent`
            current.add(piece)
            rest = _rest(sent, current.text)
            if rest is None:
                raise StreamCut("a different reply than the one being shown")
            if rest:
                sent += rest
                yield rest
            if current.ended:
                if current.text != sent:
                    raise StreamCut("the attempt ended short of what was shown")
                return
            if not (sub.gap or current.missing) or loop.time() - asked < quiet:
                continue
        asked = loop.time()
        state = await stored()
        if state is None or state.status not in STORED:
            continue  # still being answered (or held): wait for it
        rest = _rest(sent, state.reply or "")
        if rest is None or (rest == "" and (state.reply or "") != sent):
            raise StreamCut("the stored reply differs from what was shown")
        if rest:
            yield rest
        return
