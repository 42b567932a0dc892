"""The calendar as tools: the agenda of a day or a week, and free time in it, said in the
person's zone."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from core.calendar import when
from core.calendar.agenda import NO_CALENDAR, agenda_text, window_for
from core.calendar.free import free_slots, say_slots
from core.calendar.model import Calendar, CalendarError, NewEvent
from core.offers import event_reminders
from core.provenance import Origin
from core.schedule.times import TimeError, zone
from core.tools.base import Policy, Tool, ToolContext, ToolError, ToolResult, Who

SPAN = "today|tomorrow|week|YYYY-MM-DD"
ONE = "a repeating event's one date to change (omit: the series)"


class AgendaArgs(BaseModel):
    span: str = Field("today", description=SPAN)
    days: int | None = Field(None, ge=1, le=31, description="number of days")


async def agenda(ctx: ToolContext, args: AgendaArgs) -> ToolResult:
    if ctx.calendar is None:
        raise ToolError(NO_CALENDAR)
    text = await agenda_text(ctx.calendar, args.span, ctx.clock(), zone(ctx.timezone),
                             args.days, ids=True)
    # An event's words may be someone else's (an invitation): data, never instructions.
    return ToolResult(text, origin=Origin.CALENDAR)


class FreeTimeArgs(BaseModel):
    span: str = Field("week", description=SPAN)
    minutes: int = Field(60, ge=5, le=720, description="slot length")
    from_hour: int = Field(9, ge=0, le=23)
    to_hour: int = Field(18, ge=1, le=24)


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


AGENDA = Tool("agenda", "Calendar events of a day or week", AgendaArgs,
              agenda, Policy(Who.ALLOWED, side_effects=False))
FREE_TIME = Tool("free_time", "Free slots in the calendar", FreeTimeArgs, free_time,
                 Policy(Who.ALLOWED, side_effects=False))


class CreateEventArgs(BaseModel):
    title: str = Field(min_length=1, max_length=200)
    date: str = Field(description="YYYY-MM-DD")
    time: str | None = Field(None, description="HH:MM; omit for all day")
    minutes: int = Field(60, ge=5, le=24 * 60)
    days: int = Field(1, ge=1, le=31, description="all-day length")
    location: str = Field("", max_length=200)
    notes: str = Field("", max_length=1000)
    zone: str | None = Field(None, description="IANA, if not theirs")


def _zone_of(ctx: ToolContext, name: str | None) -> ZoneInfo:
    try:
        return zone(name or ctx.timezone)
    except TimeError as err:
        raise ToolError(str(err)) from None


def _calendar(ctx: ToolContext) -> Calendar:
    if ctx.calendar is None:
        raise ToolError(NO_CALENDAR)
    return ctx.calendar


async def create_event(ctx: ToolContext, args: CreateEventArgs) -> ToolResult:
    calendar, tz = _calendar(ctx), _zone_of(ctx, args.zone)
    try:
        on = when.day(args.date)
        if args.time is None:
            start = datetime.combine(on, dtime(), tz)
            event = NewEvent(args.title, start, start + timedelta(days=args.days), True,
                             args.location, args.notes)
        else:
            start = when.local(on, when.clock(args.time), tz)
            event = NewEvent(args.title, start, start + timedelta(minutes=args.minutes),
                             False, args.location, args.notes)
    except ValueError as err:
        raise ToolError(str(err)) from None
    uid = f"kith-{ctx.idempotency_key}"  # the action's key: created once however often run
    try:
        await calendar.create(event, uid, tz)
    except CalendarError as err:
        raise ToolError(str(err)) from None
    await event_reminders.after_change(ctx.store, ctx.person_id, calendar, ctx.timezone,
                                       ctx.inbound, ctx.clock())  # they follow the event
    person_tz = zone(ctx.timezone)
    said = (f"{start:%a} {start.day} {start:%b}, all day" if event.all_day
            else f"{when.say(start, person_tz)}–{event.end.astimezone(person_tz):%H:%M}")
    return ToolResult(f"Created event {uid}: {args.title}, {said}.",
                      f"Added to your calendar: {args.title}, {said}.",
                      origin=Origin.KITH, undo=f"/calendar cancel {uid}")


class MoveEventArgs(BaseModel):
    id: str = Field(min_length=1, max_length=300, description="from agenda")
    date: str = Field(description="YYYY-MM-DD")
    time: str | None = Field(None, description="HH:MM")
    only_date: str | None = Field(None, description=ONE)


async def move_event(ctx: ToolContext, args: MoveEventArgs) -> ToolResult:
    calendar, tz = _calendar(ctx), zone(ctx.timezone)
    try:
        occurrence = (datetime.combine(when.day(args.only_date), dtime(), tz)
                      if args.only_date else None)
        at = when.clock(args.time) if args.time else None
        on = when.day(args.date)
    except ValueError as err:
        raise ToolError(str(err)) from None
    if at is None:
        raise ToolError("say the new start time (HH:MM)")
    start = when.local(on, at, tz)
    try:
        await calendar.move(args.id, start, occurrence, tz)
    except CalendarError as err:
        raise ToolError(str(err)) from None
    await event_reminders.after_change(ctx.store, ctx.person_id, calendar, ctx.timezone,
                                       ctx.inbound, ctx.clock())  # they follow the event
    which = "That occurrence" if occurrence else "The event"
    return ToolResult(f"Moved {args.id} to {when.say(start, tz)}.",
                      f"{which} now starts {when.say(start, tz)}.", origin=Origin.KITH)


class CancelEventArgs(BaseModel):
    id: str = Field(min_length=1, max_length=300, description="from agenda")
    only_date: str | None = Field(None, description=ONE)


async def cancel_event(ctx: ToolContext, args: CancelEventArgs) -> ToolResult:
    calendar, tz = _calendar(ctx), zone(ctx.timezone)
    try:
        occurrence = (datetime.combine(when.day(args.only_date), dtime(), tz)
                      if args.only_date else None)
    except ValueError as err:
        raise ToolError(str(err)) from None
    try:
        said = await calendar.cancel(args.id, occurrence, tz)
    except CalendarError as err:
        raise ToolError(str(err)) from None
    await event_reminders.after_change(ctx.store, ctx.person_id, calendar, ctx.timezone,
                                       ctx.inbound, ctx.clock())  # they follow the event
    return ToolResult(f"Cancelled {said} ({args.id}).", f"Cancelled {said} on your calendar.",
                      origin=Origin.KITH)


# Changes to a calendar are external actions (core.actions): durable, proposed in an
# untrusted context, and idempotent, so a run interrupted after it began may run again.
# Who.ALLOWED: the calendar a turn gets is always the speaker's own (bots/calendars.py).
WRITES = Policy(Who.ALLOWED, side_effects=True, idempotent=True)
CREATE_EVENT = Tool("create_event", "Add a calendar event", CreateEventArgs,
                    create_event, WRITES)
MOVE_EVENT = Tool("move_event", "Move a calendar event", MoveEventArgs,
                  move_event, WRITES)
CANCEL_EVENT = Tool("cancel_event", "Cancel a calendar event",
                    CancelEventArgs, cancel_event, WRITES)
