"""A reply while it is being produced: adapters iterate it, the core records it."""

from __future__ import annotations

from collections.abc import AsyncIterator

from core.events import Inbound, Outbound, ReplyStatus


class Reply:
    """Iterate for text pieces as they arrive; ``text``/``status`` are final after that.

    The producer is an async generator owned by the agent; it persists the turn when it
    finishes, so the dispatcher always :meth:`drain`\\ s a reply, even when delivery failed.
    """

    def __init__(self, inbound: Inbound) -> None:
        self.inbound = inbound
        self.status = ReplyStatus.OK
        self._parts: list[str] = []
        self._source: AsyncIterator[str] | None = None
        self._started = False
        self._done = False

    def attach(self, source: AsyncIterator[str]) -> Reply:
        self._source = source
        return self

    @property
    def text(self) -> str:
        return "".join(self._parts)

    @property
    def done(self) -> bool:
        return self._done

    async def __aiter__(self) -> AsyncIterator[str]:
        if self._started:
            raise RuntimeError("a reply can be iterated once; use drain() afterwards")
        self._started = True
        async for piece in self._pieces():
            yield piece

    async def _pieces(self) -> AsyncIterator[str]:
        if self._source is not None and not self._done:
            async for piece in self._source:
                if piece:
                    self._parts.append(piece)
                    yield piece
        self._done = True

    async def drain(self) -> str:
        """Consume whatever the consumer did not (delivery failed or stopped early)."""
        self._started = True
        async for _ in self._pieces():
            pass
        return self.text

    def outbound(self, platform_ids: tuple[str, ...] = ()) -> Outbound:
        return Outbound(
            conversation=self.inbound.conversation,
            in_reply_to=self.inbound.id,
            text=self.text,
            status=self.status,
            platform_ids=platform_ids,
        )
