"""List tools: add to a list, show a list, tick items off. Lists belong to one person."""

from __future__ import annotations

import builtins

from pydantic import BaseModel, Field

from core.provenance import Origin
from core.tools.base import Policy, Tool, ToolContext, ToolError, ToolResult, Who

IN_PRIVATE = "Lists are private: ask me about them in a direct chat."


def list_name(text: str) -> str:
    """'the Shopping List' → 'shopping'."""
    name = " ".join(text.lower().split())
    for word in ("the ", "my "):
        name = name.removeprefix(word)
    name = name.removesuffix(" list").strip()
    if not name or len(name) > 40:
        raise ToolError("a list name is 1-40 characters, e.g. shopping")
    return name


class ListItems(BaseModel):
    list: str = Field(max_length=60)
    items: builtins.list[str] = Field(min_length=1, max_length=50)


class ShowList(BaseModel):
    list: str = Field("", description="empty: all lists")


async def list_add(ctx: ToolContext, args: ListItems) -> ToolResult:
    name = list_name(args.list)
    added = await ctx.store.lists.add_items(ctx.person_id, name, args.items, ctx.clock())
    if not added:
        return ToolResult(f"Those are already on the {name} list.", origin=Origin.KITH)
    return ToolResult(f"Added to {name}: {', '.join(added)}.",
                      f"Added to your {name} list: {', '.join(added)}.", origin=Origin.KITH)


async def list_show(ctx: ToolContext, args: ShowList) -> ToolResult:
    if ctx.inbound.is_group:
        return ToolResult(IN_PRIVATE, origin=Origin.KITH)
    name = list_name(args.list) if args.list.strip() else None
    items = await ctx.store.lists.items(ctx.person_id, name)
    if not items:
        return ToolResult(f"The {name} list is empty." if name else "There are no lists.",
                          origin=Origin.KITH)
    lines: dict[str, list[str]] = {}
    for item in items:
        lines.setdefault(item.list, []).append(item.item)
    return ToolResult("\n".join(f"{k}: {', '.join(v)}" for k, v in lines.items()),
                      origin=Origin.KITH)


async def list_done(ctx: ToolContext, args: ListItems) -> ToolResult:
    name = list_name(args.list)
    done = await ctx.store.lists.check_off(ctx.person_id, name, args.items)
    if not done:
        raise ToolError(f"none of {args.items} is on the {name} list; call list_show")
    return ToolResult(f"Ticked off on {name}: {', '.join(done)}.",
                      f"Ticked off your {name} list: {', '.join(done)}.", origin=Origin.KITH)


ADD = Tool("list_add", "Add items to a list", ListItems, list_add,
           Policy(Who.ALLOWED, side_effects=True, atomic=True))
SHOW = Tool("list_show", "Show a list", ShowList, list_show,
            Policy(Who.ALLOWED, side_effects=False))
DONE = Tool("list_done", "Tick items off a list", ListItems, list_done,
            Policy(Who.ALLOWED, side_effects=True, atomic=True))
