"""The calendar as tools: the agenda of a day or a week, and free time in it, said in the
person's zone."""

from __future__ import annotations

from datetime import time, timedelta

from pydantic import BaseModel, Field

from core.calendar.agenda import NO_CALENDAR, agenda_text, window_for
from core.calendar.free import free_slots, say_slots
from core.calendar.model import CalendarError
from core.provenance import Origin
from core.schedule.times import zone
from core.tools.base import Policy, Tool, ToolContext, ToolError, ToolResult, Who

SPAN = "today, tomorrow, week, or a date YYYY-MM-DD"


class AgendaArgs(BaseModel):
    span: str = Field("today", description=SPAN)
    days: int | None = Field(None, ge=1, le=31, description="how many days from that date")


async def agenda(ctx: ToolContext, args: AgendaArgs) -> ToolResult:
    if ctx.calendar is None:
        raise ToolError(NO_CALENDAR)
    text = await agenda_text(ctx.calendar, args.span, ctx.clock(), zone(ctx.timezone),
                             args.days)
    # An event's words may be someone else's (an invitation): data, never instructions.
    return ToolResult(text, origin=Origin.CALENDAR)


class FreeTimeArgs(BaseModel):
    span: str = Field("week", description=SPAN)
    minutes: int = Field(60, ge=5, le=720, description="how long a free slot must be")
    from_hour: int = Field(9, ge=0, le=23, description="earliest hour of a day")
    to_hour: int = Field(18, ge=1, le=24, description="latest hour of a day")


async def free_time(ctx: ToolContext, args: FreeTimeArgs) -> ToolResult:
    if ctx.calendar is None:
        raise ToolError(NO_CALENDAR)
    if args.to_hour <= args.from_hour:
        raise ToolError("to_hour must be after from_hour")
    tz, now = zone(ctx.timezone), ctx.clock()
    try:
        window = window_for(args.span, now, tz)
        events = await ctx.calendar.events(window, tz)
    except ValueError as err:
        raise ToolError(str(err)) from None
    except CalendarError as err:
        return ToolResult(str(err), origin=Origin.KITH)
    day_end = time(args.to_hour) if args.to_hour < 24 else time(23, 59)
    slots = free_slots(events, window, tz, timedelta(minutes=args.minutes),
                       time(args.from_hour), day_end, not_before=now)
    # Only times are said back, no event text: nothing of anyone else's words.
    return ToolResult(say_slots(slots, tz), origin=Origin.KITH)


AGENDA = Tool("agenda", "The person's calendar events for a day or a week", AgendaArgs,
              agenda, Policy(Who.OWNER, side_effects=False))
FREE_TIME = Tool("free_time", "Free slots in the person's calendar", FreeTimeArgs, free_time,
                 Policy(Who.OWNER, side_effects=False))
