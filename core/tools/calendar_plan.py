""""Plan my week" as one tool call: the model passes what the person wants to do; Kith reads
the week (events, open reminders, list items), finds the slots (:mod:`core.calendar.plan`)
and proposes every block in one message with one yes or no. The yes creates each block as
an event whose UID is the action's key plus its place in the plan, PUT with
``If-None-Match: *``: a run interrupted anywhere runs again and makes each event once.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from pydantic import BaseModel, Field

from core.calendar import when
from core.calendar.agenda import window_for
from core.calendar.model import CalendarError, NewEvent
from core.calendar.plan import Part, Wish, plan
from core.provenance import Origin
from core.schedule.model import Kind
from core.schedule.times import zone
from core.tools.base import Policy, Prepare, Tool, ToolContext, ToolError, ToolResult, Who
from core.tools.calendar import _calendar

REMINDER = timedelta(minutes=15)  # the time a reminder due in the week keeps free


class WishArgs(BaseModel):
    what: str = Field(min_length=1, max_length=100)
    duration_minutes: int = Field(60, ge=15, le=480)
    preferred: Literal["morning", "afternoon", "evening", "any"] = "any"
    times: int = Field(1, ge=1, le=7, description="on different days")


class PlanWeekArgs(BaseModel):
    wishes: list[WishArgs] = Field(min_length=1, max_length=12)


class Block(BaseModel):
    title: str = Field(min_length=1, max_length=100)
    start: datetime
    end: datetime


class PlannedWeek(BaseModel):
    """The concrete action: the blocks the person approves, as proposed."""

    blocks: list[Block] = Field(min_length=1, max_length=40)
    unplaced: list[str] = []
    lists: list[str] = []  # open list items, said with the plan


async def make_plan(ctx: ToolContext, args: PlanWeekArgs) -> PlannedWeek:
    calendar, tz, now = _calendar(ctx), zone(ctx.timezone), ctx.clock()
    window = window_for("week", now, tz)
    try:
        events = await calendar.events(window, tz)
    except CalendarError as err:
        raise ToolError(str(err)) from None
    busy = [(e.start, e.end) for e in events if not e.all_day]
    for reminder in await ctx.store.schedule.for_person(ctx.person_id, Kind.REMINDER):
        due = reminder.due_at.astimezone(tz)
        if window.start <= due < window.end:
            busy.append((due, due + REMINDER))
    items = [] if ctx.inbound.is_group else [
        i.item for i in await ctx.store.lists.items(ctx.person_id)]
    wishes = [Wish(w.what.strip(), w.duration_minutes, Part(w.preferred), w.times)
              for w in args.wishes]
    planned = plan(wishes, busy, window, tz, now)
    if not planned.blocks:
        raise ToolError("no free time this week fits any of these; ask the person which to "
                        "shorten or move to next week")
    return PlannedWeek(blocks=[Block(title=b.title, start=b.start, end=b.end)
                               for b in planned.blocks],
                       unplaced=list(planned.unplaced), lists=items[:10])


def _line(block: Block, ctx: ToolContext) -> str:
    tz = zone(ctx.timezone)
    return f"- {when.say(block.start, tz)}–{block.end.astimezone(tz):%H:%M}  {block.title}"


def describe(ctx: ToolContext, week: PlannedWeek) -> str:
    count = len(week.blocks)
    lines = [f"Plan for your week: {count} block{'s' if count > 1 else ''} to add to your "
             "calendar:", *(_line(b, ctx) for b in week.blocks)]
    if week.unplaced:
        lines.append(f"No room this week for: {', '.join(week.unplaced)}.")
    if week.lists:
        lines.append(f"Also open on your lists: {', '.join(week.lists)}.")
    return "\n".join(lines)


def uid_for(key: str, index: int) -> str:
    return f"kith-{key}-{index}"


async def plan_week(ctx: ToolContext, week: PlannedWeek) -> ToolResult:
    calendar, tz = _calendar(ctx), zone(ctx.timezone)
    uids = []
    for index, block in enumerate(week.blocks):
        uid = uid_for(ctx.idempotency_key, index)  # created once however often run
        try:
            # in the person's zone (the recorded times carry only an offset): TZID=their zone
            event = NewEvent(block.title, block.start.astimezone(tz), block.end.astimezone(tz))
            await calendar.create(event, uid, tz)
        except CalendarError as err:
            raise ToolError(f"{err} ({index} of {len(week.blocks)} blocks were added)"
                            ) from None
        uids.append(uid)
    said = "\n".join(_line(b, ctx) for b in week.blocks)
    ids = ", ".join(uids)
    return ToolResult(f"Added {len(uids)} blocks (ids {ids}).",
                      f"Added to your calendar:\n{said}", origin=Origin.KITH)


PLAN_WEEK = Tool(
    "plan_week", "Plan their week: blocks for what they want to do, in free time; they "
    "approve", PlanWeekArgs, plan_week,
    Policy(Who.ALLOWED, side_effects=True, idempotent=True, asks=True),
    Prepare(PlannedWeek, make_plan, describe))
