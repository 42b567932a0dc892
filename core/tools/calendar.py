"""The calendar as a tool: the agenda of a day or a week, said in the person's zone."""

from __future__ import annotations

from pydantic import BaseModel, Field

from core.calendar.agenda import NO_CALENDAR, agenda_text
from core.provenance import Origin
from core.schedule.times import zone
from core.tools.base import Policy, Tool, ToolContext, ToolError, ToolResult, Who


class AgendaArgs(BaseModel):
    span: str = Field("today", description="today, tomorrow, week, or a date YYYY-MM-DD")
    days: int | None = Field(None, ge=1, le=31, description="how many days from that date")


async def agenda(ctx: ToolContext, args: AgendaArgs) -> ToolResult:
    if ctx.calendar is None:
        raise ToolError(NO_CALENDAR)
    text = await agenda_text(ctx.calendar, args.span, ctx.clock(), zone(ctx.timezone),
                             args.days)
    # An event's words may be someone else's (an invitation): data, never instructions.
    return ToolResult(text, origin=Origin.CALENDAR)


AGENDA = Tool("agenda", "The person's calendar events for a day or a week", AgendaArgs,
              agenda, Policy(Who.OWNER, side_effects=False))
