"""/reminders, /briefing and /lists. /export and /forget all cover lists and reminders too:
they call core/controls.py, which the web page's controls use as well."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta
from typing import Protocol

from core import controls
from core.memory_commands import Context as MemoryContext
from core.schedule.model import Kind, NewSchedule, Schedule
from core.schedule.times import (
    TimeError,
    next_occurrence,
    parse_clock,
    resolve_zone,
    say_local,
    zone,
)
from core.tools.base import ToolError
from core.tools.lists import list_name
from core.tools.reminders import describe

COMMANDS: dict[str, str] = {
    "reminders": "your reminders with ids; /reminders cancel ID",
    "briefing": "/briefing 07:30 sends a daily summary at that time; /briefing off",
    "lists": "your lists; /lists NAME shows one",
}
IN_PRIVATE = "For your privacy, use /{name} in a direct chat with me."


class Context(MemoryContext, Protocol):
    """What a memory command sees, plus the bot's time zone."""

    @property
    def bot_timezone(self) -> str | None: ...


async def _mine(ctx: Context, kind: Kind) -> list[Schedule]:
    items = await ctx.store.schedule.for_person(ctx.person_id, kind)
    if ctx.inbound.is_group:
        items = [i for i in items if i.conversation == ctx.inbound.conversation]
    return items


async def reminders_cmd(ctx: Context, args: str) -> str:
    word, _, rest = args.strip().partition(" ")
    if word.lower() == "cancel":
        wanted = rest.strip().lower()
        if wanted not in {i.id for i in await _mine(ctx, Kind.REMINDER)}:
            return f"You have no reminder {rest.strip() or '(no id)'}. /reminders lists them."
        gone = await controls.cancel_reminder(ctx.store, ctx.person_id, wanted)
        return f"Cancelled: {describe(gone)}" if gone else f"You have no reminder {wanted}."
    if word:
        return "Usage: /reminders, or /reminders cancel ID"
    items = await _mine(ctx, Kind.REMINDER)
    if not items:
        return "You have no reminders. Ask me, e.g. \"remind me tomorrow at 9 to call Ana\"."
    lines = [describe(i) for i in items]
    return "Your reminders:\n" + "\n".join(lines) + "\nCancel one with /reminders cancel ID"


async def person_zone(ctx: Context) -> tuple[str, str]:
    prefs = await ctx.store.preferences(ctx.person_id)
    return resolve_zone(prefs.get("timezone"), ctx.bot_timezone)


async def briefing_cmd(ctx: Context, args: str) -> str:
    if ctx.inbound.is_group:
        return IN_PRIVATE.format(name="briefing")
    current = await _mine(ctx, Kind.BRIEFING)
    choice = args.strip().lower()
    if not choice:
        if not current:
            return "No daily briefing. /briefing 07:30 starts one at that time."
        first = current[0]
        return (f"Your briefing comes daily at {first.anchor:%H:%M} {first.timezone} time; "
                f"next {say_local(first.due_at, first.timezone)}. /briefing off stops it.")
    for item in current:
        await ctx.store.schedule.cancel(ctx.person_id, item.id)
    if choice == "off":
        return "Daily briefing off." if current else "There was no daily briefing."
    try:
        at = parse_clock(choice)
    except TimeError as err:
        return f"{err}; /briefing off stops it."
    tz, source = await person_zone(ctx)
    now = ctx.clock()
    anchor = datetime.combine(now.astimezone(zone(tz)).date(), at)
    due = next_occurrence("FREQ=DAILY", anchor, tz, now - timedelta(seconds=1))
    assert due is not None
    if due <= now:
        due = next_occurrence("FREQ=DAILY", anchor, tz, now) or due
    await ctx.store.schedule.add(NewSchedule(
        person_id=ctx.person_id, kind=Kind.BRIEFING, origin=ctx.inbound, text="",
        timezone=tz, rule="FREQ=DAILY", due_at=due, anchor=anchor,
    ), now)
    return (f"Daily briefing at {at:%H:%M} {tz} time (from {source}): today's reminders and "
            f"open list items, nothing on days without any. First: {say_local(due, tz, now)}.")


async def lists_cmd(ctx: Context, args: str) -> str:
    if ctx.inbound.is_group:
        return IN_PRIVATE.format(name="lists")
    try:
        name = list_name(args) if args.strip() else None
    except ToolError as err:
        return str(err)
    items = await ctx.store.lists.items(ctx.person_id, name)
    if not items:
        return f"Your {name} list is empty." if name else \
            "You have no lists. Ask me, e.g. \"add oat milk to the shopping list\"."
    grouped: dict[str, list[str]] = {}
    for item in items:
        grouped.setdefault(item.list, []).append(item.item)
    return "\n".join(f"{k}: {', '.join(v)}" for k, v in grouped.items())


Handler = Callable[[Context, str], Awaitable[str]]
HANDLERS: dict[str, Handler] = {
    "reminders": reminders_cmd,
    "briefing": briefing_cmd,
    "lists": lists_cmd,
}
