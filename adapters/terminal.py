"""The terminal chat (``kith chat``): replies stream to stdout as they arrive."""

from __future__ import annotations

import asyncio
import sys
from typing import TextIO

from adapters.base import ChannelConfig, ChannelContext, ChannelSpec
from adapters.kit import attribution
from core.events import (
    Addressed,
    ChatKind,
    ConversationKey,
    Inbound,
    Outbound,
    ReplyStatus,
    Sender,
    Trust,
)
from core.ids import InboundId
from core.reply import Reply

PROMPT = "Do this?"  # under a proposed action; the next line typed answers it
OWNER = Sender(platform_id="owner", display_name="You", namespace="local")


class TerminalConfig(ChannelConfig):
    pass


def to_inbound(bot: str, session: str, number: int, text: str) -> Inbound:
    own, unsure = attribution.split(text)  # a pasted forward is not theirs
    return Inbound(
        id=InboundId(f"terminal:{bot}:{session}:{number}"),
        conversation=ConversationKey(bot, "terminal", session),
        sender=OWNER,
        text=own,
        quoted=unsure,
        addressed=Addressed.DIRECT,
        trust=Trust.OWNER,
        chat=ChatKind.DIRECT,
    )


class Terminal:
    def __init__(self, ctx: ChannelContext, config: TerminalConfig,
                 out: TextIO | None = None) -> None:
        self.ctx = ctx
        self.out = out or sys.stdout
        self.finished: dict[str, asyncio.Future[ReplyStatus]] = {}

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None

    def expect(self, inbound_id: InboundId) -> asyncio.Future[ReplyStatus]:
        future: asyncio.Future[ReplyStatus] = asyncio.get_running_loop().create_future()
        self.finished[inbound_id] = future
        return future

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        wrote = False
        try:
            async for piece in reply:
                self.out.write(piece)
                self.out.flush()
                wrote = True
            if wrote:
                self.out.write("\n")
                for action in await self.ctx.store.actions.made_by(inbound.id):
                    self.out.write(f"{PROMPT} {action.summary} [yes/no]\n")
                self.out.flush()
        finally:
            future = self.finished.pop(inbound.id, None)
            if future is not None and not future.done():
                future.set_result(reply.status)
        return reply.outbound()


def build(ctx: ChannelContext, config: TerminalConfig) -> Terminal:
    return Terminal(ctx, config)


SPEC = ChannelSpec(config=TerminalConfig, build=build)
