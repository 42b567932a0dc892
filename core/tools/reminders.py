"""Reminder tools: set one (once or repeating), list them, cancel one."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from core.provenance import Origin
from core.schedule.asked import Asked, first_due, one_off_unless_said, resolve
from core.schedule.model import Kind, NewSchedule, Schedule
from core.schedule.times import TimeError, say_local
from core.tools.base import Policy, Tool, ToolContext, ToolError, ToolResult, Who

_EVERY = {"HOURLY": "every hour", "DAILY": "every day", "WEEKLY": "every week",
          "MONTHLY": "every month", "YEARLY": "every year"}
_DAY_NAMES = {"MO": "Monday", "TU": "Tuesday", "WE": "Wednesday", "TH": "Thursday",
              "FR": "Friday", "SA": "Saturday", "SU": "Sunday"}


def describe_rule(rule: str | None) -> str:
    """'every day', 'every Monday and Thursday until 31 January': the rule in words."""
    if not rule:
        return ""
    parts = dict(p.split("=", 1) for p in rule.upper().split(";") if "=" in p)
    every = _EVERY.get(parts.get("FREQ", ""))
    if every is None or set(parts) - {"FREQ", "BYDAY", "UNTIL", "INTERVAL"} or parts.get(
            "INTERVAL", "1") != "1":
        return "repeating"
    days = [_DAY_NAMES.get(d) for d in parts.get("BYDAY", "").split(",") if d]
    if days and all(days) and parts["FREQ"] == "WEEKLY":
        names = [d for d in days if d]
        every = "every " + (" and ".join([", ".join(names[:-1]), names[-1]])
                            if len(names) > 1 else names[0])
    until = parts.get("UNTIL", "")
    if len(until) >= 8 and until[:8].isdigit():
        every += f" until {int(until[6:8])} {_MONTHS[int(until[4:6]) - 1]} {until[:4]}"
    return every


_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August",
           "September", "October", "November", "December")


def describe(item: Schedule) -> str:
    every = describe_rule(item.rule)
    when = say_local(item.due_at, item.timezone, item.created_at)
    return f"[{item.id}] {item.text} — {when}" + (f", {every}" if every else "")


def _unadvertised(schema: dict[str, Any]) -> None:
    schema.pop("additionalProperties", None)


class CreateReminder(BaseModel):
    # Once. A small model fills every field it is shown (Qwen2.5-Coder-1.5B wrote a repeat
    # on most one-off requests), so a repeat has its own tool (RepeatReminder): choosing it
    # is the model's judgement, in any language, that the person asked for one. Older forms
    # are still taken, unadvertised (model_extra): an ISO 8601 "when"; and repeat/days/until,
    # which stand only when backed by a "repeat_quote" of the person's own words
    # (core.schedule.asked.backed).

    model_config = ConfigDict(extra="allow", json_schema_extra=_unadvertised)

    text: str = Field(min_length=1, max_length=500)
    date: str = Field("", description="YYYY-MM-DD")
    time: str = Field("", description="local HH:MM")
    in_minutes: int = 0
    zone: str = Field("", description="IANA, for another place")


class RepeatReminder(BaseModel):
    # "until" is taken but not shown: a small model fills every field (Qwen wrote an end a
    # year out on an open-ended "every Monday")
    model_config = ConfigDict(extra="allow", json_schema_extra=_unadvertised)

    text: str = Field(min_length=1, max_length=500)
    every: str = Field(description="day|week|month|year")
    days: list[str] = Field(default_factory=list, description="for week")
    time: str = Field("", description="local HH:MM")
    date: str = Field("", description="first YYYY-MM-DD")
    zone: str = Field("", description="IANA, for another place")


def _extra(args: BaseModel, name: str) -> str:
    value = (args.model_extra or {}).get(name, "")
    return value if isinstance(value, str) else ""


async def create_reminder(ctx: ToolContext, args: CreateReminder) -> ToolResult:
    days = (args.model_extra or {}).get("days") or []
    asked = one_off_unless_said(
        Asked(args.date, args.time, args.in_minutes or None, args.zone, _extra(args, "repeat"),
              tuple(str(d) for d in days) if isinstance(days, list) else (),
              _extra(args, "until"), _extra(args, "when")),
        _extra(args, "repeat_quote"), ctx.inbound.text, args.text)
    return await _set(ctx, args.text, asked)


async def repeat_reminder(ctx: ToolContext, args: RepeatReminder) -> ToolResult:
    asked = Asked(args.date, args.time, None, args.zone, args.every, tuple(args.days),
                  _extra(args, "until"))
    return await _set(ctx, args.text, asked)


async def _set(ctx: ToolContext, text: str, asked: Asked) -> ToolResult:
    now = ctx.clock()
    try:
        found = resolve(asked, ctx.timezone, now)
        due, rule, tz = first_due(found, now), found.rule, found.zone
    except TimeError as err:
        raise ToolError(str(err)) from None
    if due < now - timedelta(minutes=1):
        raise ToolError(f"that time is in the past; it is now {say_local(now, tz, now)}")
    every = describe_rule(rule)
    said = say_local(due, tz, now)
    same = [r for r in await _visible(ctx) if r.text.lower() == text.strip().lower()
            and r.due_at == due and r.rule == rule]
    if same:  # a small model often calls again with the same arguments: one reminder
        return ToolResult(f"Reminder {same[0].id} is already set: {same[0].text}, {said}"
                          + (f", {every}" if every else "") + ".", origin=Origin.KITH)
    item = await ctx.store.schedule.add(NewSchedule(
        person_id=ctx.person_id, kind=Kind.REMINDER, origin=ctx.inbound, text=text.strip(),
        timezone=tz, rule=rule, due_at=due, anchor=found.anchor,
    ), now)
    source = ("the place you named" if tz != ctx.timezone else ctx.timezone_source)
    notice = (f"Reminder set: {item.text} — {said}" + (f", {every}" if every else "")
              + f". (id {item.id}; time zone from {source})")
    return ToolResult(f"Reminder {item.id} set: {item.text}, {said}"
                      + (f", {every}" if every else "") + ".", notice, origin=Origin.KITH,
                      undo=f"/reminders cancel {item.id}")


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


CREATE = Tool("create_reminder", "Remind the person once", CreateReminder,
              create_reminder, Policy(Who.ALLOWED, side_effects=True, atomic=True))
REPEAT = Tool("create_repeating_reminder", "Remind the person every day, week, month or year",
              RepeatReminder, repeat_reminder,
              Policy(Who.ALLOWED, side_effects=True, atomic=True))
LIST = Tool("list_reminders", "List reminders with ids", NoArguments, list_reminders,
            Policy(Who.ALLOWED, side_effects=False))
CANCEL = Tool("cancel_reminder", "Cancel a reminder by id", CancelReminder, cancel_reminder,
              Policy(Who.ALLOWED, side_effects=True, atomic=True))
