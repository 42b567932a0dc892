"""Slash commands, answered by the core the same way on every channel."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from core import memory_commands, schedule_commands
from core.calendar.agenda import NO_CALENDAR, agenda_text
from core.calendar.model import Calendar, CalendarError, Linker
from core.events import Inbound, Trust, utcnow
from core.ids import PersonId
from core.offers import event_reminders
from core.offers import prefs as offer_prefs
from core.schedule.times import zone
from core.store.base import CommandStore

PREF_KEYS: dict[str, str] = {
    "name": "what to call you",
    "language": "the language replies are written in",
    "tone": "how replies sound (e.g. warm, brief, formal)",
    "length": "how long replies are (short, medium, detailed)",
    "timezone": "your IANA time zone, e.g. Europe/Lisbon",
    "signoff": "how you sign your messages",
}

COMMANDS: dict[str, str] = {
    "help": "what I can do and the commands",
    "reset": "start a fresh conversation (the old one is kept out of my context)",
    "prefs": "show or set your preferences: /prefs name Ana",
    **memory_commands.COMMANDS,
    **schedule_commands.COMMANDS,
    "agenda": "your calendar: /agenda today, tomorrow, week or a date",
    "calendar": "/calendar connect URL USERNAME links your own calendar; /calendar status, "
                "/calendar disconnect; /calendar cancel ID cancels an event I added",
}


@dataclass(frozen=True, slots=True)
class Command:
    name: str
    args: str


def parse_command(text: str, bot_username: str = "") -> Command | None:
    """``/name args`` or ``/name@bot args``; None when the text is not a command (pure)."""
    stripped = text.strip()
    if not stripped.startswith("/") or len(stripped) < 2:
        return None
    head, _, args = stripped[1:].partition(" ")
    name, _, target = head.partition("@")
    if target and bot_username and target.lower() != bot_username.lower():
        return None
    if not name.isidentifier():
        return None
    return Command(name.lower(), args.strip())


@dataclass(frozen=True, slots=True)
class CommandContext:
    inbound: Inbound
    person_id: PersonId
    store: CommandStore
    clock: Callable[[], datetime] = field(default=utcnow)
    bot_timezone: str | None = None  # the bot's default zone when the person set none
    calendar: Calendar | None = None  # the calendar this turn may use, if any
    linker: Linker | None = None  # people linking their own calendars, where offered


Handler = Callable[[CommandContext, str], Awaitable[str]]


async def _help(ctx: CommandContext, args: str) -> str:
    lines = [f"/{name} — {what}" for name, what in COMMANDS.items()]
    if ctx.inbound.trust is Trust.OWNER:
        lines.append("/approve CODE — let someone who asked to talk with me in")
    return "I'm your assistant. Just write to me. Commands:\n" + "\n".join(lines)


async def _reset(ctx: CommandContext, args: str) -> str:
    await ctx.store.reset(ctx.inbound.conversation)
    return "Fresh start. I won't use our earlier messages here as context."


async def _prefs(ctx: CommandContext, args: str) -> str:
    if not args:
        prefs = await ctx.store.preferences(ctx.person_id)
        shown = "\n".join(f"- {k}: {prefs[k]}" for k in [*PREF_KEYS, *offer_prefs.KEYS]
                          if k in prefs) or "- none yet"
        keys = ", ".join([*PREF_KEYS, *offer_prefs.KEYS])
        return f"Your preferences:\n{shown}\nSet one with /prefs KEY VALUE ({keys}); " \
            "clear one with /prefs KEY -"
    key, _, value = args.partition(" ")
    key, value = key.lower(), value.strip()
    if key in offer_prefs.KEYS and value:  # kept by core/offers, never in the prompt
        tz_name, _ = await schedule_commands.person_zone(ctx)
        return await offer_prefs.set_pref(ctx.store, ctx.inbound, ctx.person_id, key, value,
                                           tz_name, ctx.calendar, ctx.clock)
    if key not in PREF_KEYS:
        known = ", ".join([*PREF_KEYS, *offer_prefs.KEYS])
        return f"I don't know the preference '{key}'. I know: {known}."
    if not value:
        return f"/prefs {key} VALUE sets {PREF_KEYS[key]}."
    if value == "-":
        await ctx.store.set_preference(ctx.person_id, key, None)
        return f"Cleared your {key}."
    if len(value) > 200:
        return "That's too long for a preference (200 characters at most)."
    if key == "timezone":
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            return f"'{value}' isn't a time zone I know. Try one like Europe/Lisbon."
    await ctx.store.set_preference(ctx.person_id, key, value)
    return f"Noted: your {key} is now '{value}'."


async def _approve(ctx: CommandContext, args: str) -> str:
    if ctx.inbound.trust is not Trust.OWNER:
        return "Only my owner can approve people."
    if not args:
        return "Usage: /approve CODE"
    pairing = await ctx.store.approve(ctx.inbound.conversation.bot, args)
    if pairing is None:
        return f"No one is waiting with the code {args.strip().upper()}."
    who = pairing.display_name or pairing.platform_id
    return f"Approved {who} on {pairing.channel}. They can talk with me now."


async def _agenda(ctx: CommandContext, args: str) -> str:
    tz_name, _ = await schedule_commands.person_zone(ctx)
    return await agenda_text(ctx.calendar, args or "today", ctx.clock(), zone(tz_name))


async def _calendar(ctx: CommandContext, args: str) -> str:
    word, _, uid = args.strip().partition(" ")
    word = word.lower()
    if word in ("connect", "status", "disconnect"):
        if ctx.linker is None:
            return "I can't link calendars here."
        if word == "connect":
            return await ctx.linker.connect(ctx.inbound, ctx.person_id, uid)
        if word == "status":
            return await ctx.linker.status(ctx.inbound, ctx.person_id)
        return await ctx.linker.disconnect(ctx.inbound, ctx.person_id)
    if word != "cancel" or not uid.strip():
        return ("Usage: /calendar connect URL USERNAME, /calendar status, /calendar "
                "disconnect, /calendar cancel ID (the id I gave when I added the event)")
    if ctx.calendar is None:
        return NO_CALENDAR
    tz_name, _ = await schedule_commands.person_zone(ctx)
    try:  # the person's own command: no approval; cancelling twice is harmless
        said = await ctx.calendar.cancel(uid.strip(), None, zone(tz_name))
    except CalendarError as err:
        return str(err)
    await event_reminders.after_change(ctx.store, ctx.person_id, ctx.calendar, tz_name,
                                       ctx.inbound, ctx.clock())
    return f"Cancelled {said} on your calendar."


HANDLERS: dict[str, Handler] = {
    "help": _help,
    "start": _help,
    "reset": _reset,
    "prefs": _prefs,
    "approve": _approve,
    **memory_commands.HANDLERS,
    **schedule_commands.HANDLERS,
    "agenda": _agenda,
    "calendar": _calendar,
}


async def run_command(command: Command, ctx: CommandContext) -> str | None:
    """The command's answer, or None when it is not one of ours (then the model answers)."""
    handler = HANDLERS.get(command.name)
    if handler is None:
        return None
    return await handler(ctx, command.args)
