"""Reminder tools: set one (once or repeating), list them, cancel one."""

from __future__ import annotations

from datetime import timedelta

from pydantic import BaseModel, Field

from core.provenance import Origin
from core.schedule.model import Kind, NewSchedule, Schedule
from core.schedule.times import (
    TimeError,
    check_rule,
    next_occurrence,
    parse_when,
    say_local,
    zone,
)
from core.tools.base import Policy, Tool, ToolContext, ToolError, ToolResult, Who

_EVERY = {"HOURLY": "every hour", "DAILY": "every day", "WEEKLY": "every week",
          "MONTHLY": "every month", "YEARLY": "every year"}


def describe_rule(rule: str | None) -> str:
    if not rule:
        return ""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    if set(parts) == {"FREQ"} and parts["FREQ"] in _EVERY:
        return _EVERY[parts["FREQ"]]
    return f"repeating ({rule})"


def describe(item: Schedule) -> str:
    every = describe_rule(item.rule)
    when = say_local(item.due_at, item.timezone, item.created_at)
    return f"[{item.id}] {item.text} — {when}" + (f", {every}" if every else "")


class CreateReminder(BaseModel):
    text: str = Field(min_length=1, max_length=500)
    when: str = Field(description="ISO 8601 with offset")
    repeat: str = Field("", description="RRULE, e.g. FREQ=DAILY")


async def create_reminder(ctx: ToolContext, args: CreateReminder) -> ToolResult:
    tz, now = ctx.timezone, ctx.clock()
    try:
        due = parse_when(args.when, tz)
        rule = check_rule(args.repeat) if args.repeat.strip() else None
        anchor = due.astimezone(zone(tz)).replace(tzinfo=None)
        if rule is not None:
            first = next_occurrence(rule, anchor, tz, due - timedelta(seconds=1))
            if first is None:
                raise TimeError(f"the rule {rule} never happens after {args.when}")
            due = first
    except TimeError as err:
        raise ToolError(str(err)) from None
    if due < now - timedelta(minutes=1):
        raise ToolError(f"{args.when} is in the past; it is now {now.astimezone(zone(tz))}")
    item = await ctx.store.schedule.add(NewSchedule(
        person_id=ctx.person_id, kind=Kind.REMINDER, origin=ctx.inbound, text=args.text.strip(),
        timezone=tz, rule=rule, due_at=due, anchor=anchor,
    ), now)
    every = describe_rule(rule)
    said = say_local(due, tz, now)
    notice = (f"Reminder set: {item.text} — {said}" + (f", {every}" if every else "")
              + f". (id {item.id}; time zone from {ctx.timezone_source})")
    return ToolResult(f"Reminder {item.id} set for {said}.", notice, origin=Origin.KITH)


class NoArguments(BaseModel):
    pass


async def _visible(ctx: ToolContext) -> list[Schedule]:
    items = await ctx.store.schedule.for_person(ctx.person_id, Kind.REMINDER)
    if ctx.inbound.is_group:  # in a group, only what was set in this group
        items = [i for i in items if i.conversation == ctx.inbound.conversation]
    return items


async def list_reminders(ctx: ToolContext, args: NoArguments) -> ToolResult:
    items = await _visible(ctx)
    if not items:
        return ToolResult("No reminders are set.", origin=Origin.KITH)
    return ToolResult("Reminders:\n" + "\n".join(describe(i) for i in items), origin=Origin.KITH)


class CancelReminder(BaseModel):
    id: str = Field(min_length=2, max_length=20)


async def cancel_reminder(ctx: ToolContext, args: CancelReminder) -> ToolResult:
    visible = {i.id for i in await _visible(ctx)}
    if args.id.strip().lower() not in visible:
        raise ToolError(f"no reminder {args.id}; call list_reminders for the ids")
    gone = await ctx.store.schedule.cancel(ctx.person_id, args.id)
    assert gone is not None
    return ToolResult(f"Cancelled {gone.id}.", f"Cancelled reminder: {describe(gone)}.",
                      origin=Origin.KITH)


CREATE = Tool("create_reminder", "Remind the person at a time", CreateReminder,
              create_reminder, Policy(Who.ALLOWED, side_effects=True))
LIST = Tool("list_reminders", "List reminders with ids", NoArguments, list_reminders,
            Policy(Who.ALLOWED, side_effects=False))
CANCEL = Tool("cancel_reminder", "Cancel a reminder by id", CancelReminder, cancel_reminder,
              Policy(Who.ALLOWED, side_effects=True))
