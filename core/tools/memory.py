"""'Remember that …' and 'forget that …' through the person's existing memory controls."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core import memory_commands as controls
from core.memory.model import PRIVATE, Group, MemoryKind, NewMemory, Source
from core.provenance import Origin
from core.tools.base import Policy, Tool, ToolContext, ToolResult, Who


class Fact(BaseModel):
    fact: str = Field(min_length=2, max_length=500)


async def remember(ctx: ToolContext, args: Fact) -> ToolResult:
    inbound, conv = ctx.inbound, ctx.inbound.conversation
    scope = Group(conv) if inbound.is_group else PRIVATE  # as learning does
    memory = await ctx.store.memories.add_memory(NewMemory(
        person_id=ctx.person_id, text=args.fact.strip(), kind=MemoryKind.FACT,
        source=Source(inbound.id, conv.channel, inbound.sender.platform_id,
                      inbound.received_at),
        confidence=1.0, scope=scope,
    ), ctx.clock())
    return ToolResult(f"Remembered as {memory.id}.",
                      f"I'll remember: {memory.text} ({memory.id}; /memory shows it).",
                                        origin=Origin.KITH)


async def forget(ctx: ToolContext, args: Fact) -> ToolResult:
    answer = await controls.forget_cmd(ctx, args.fact)  # same scope rules as /forget TEXT
    return ToolResult(answer, answer, origin=Origin.KITH)


REMEMBER = Tool("remember", "Store a fact the person asked you to remember", Fact, remember,
                Policy(Who.ALLOWED, side_effects=True))
FORGET = Tool("forget", "Forget what the person asked you to forget", Fact, forget,
              Policy(Who.ALLOWED, side_effects=True))
