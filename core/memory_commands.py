"""The person's controls over what Kith knows: /memory /forget /export /learning /link /unlink.

Identical on every channel. Anything that would show a person's memories or codes is
refused in a group chat (everyone there would read it) and pointed to a direct chat.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Protocol

from core import controls
from core.events import Inbound
from core.ids import PersonId
from core.memory.model import LinkRefusal, Memory, Visibility
from core.memory.scope import scope_name
from core.store.base import PersonStore

LINK_TTL_SECONDS = 600
_MEMORY_ID = re.compile(r"^m[0-9a-f]{8}$")
IN_PRIVATE = "For your privacy, use /{name} in a direct chat with me."

COMMANDS: dict[str, str] = {
    "memory": "what I remember about you, with ids and sources; /memory edit ID TEXT "
              "corrects one, /memory private ID keeps one to you alone",
    "forget": "/forget ID, /forget TEXT, /forget all (memories); /forget alone: this chat",
    "export": "everything I store about you, as JSON",
    "learning": "/learning off stops me learning about you; /learning on resumes",
    "link": "/link gives a code; send /link CODE from your other account to join them",
    "unlink": "separate the account you write from again",
}


class Context(Protocol):
    @property
    def inbound(self) -> Inbound: ...
    @property
    def person_id(self) -> PersonId: ...
    @property
    def store(self) -> PersonStore: ...
    @property
    def clock(self) -> Callable[[], datetime]: ...


def describe(memory: Memory) -> str:
    src = memory.source
    scope = scope_name(memory.scope)
    expiry = f", until {memory.expires_at:%Y-%m-%d}" if memory.expires_at else ""
    return f"[{memory.id}] {memory.text} — {src.channel}, {src.at:%Y-%m-%d} ({scope}{expiry})"


async def memory_cmd(ctx: Context, args: str) -> str:
    if ctx.inbound.is_group:
        return IN_PRIVATE.format(name="memory")
    word, _, rest = args.strip().partition(" ")
    if word.lower() in ("edit", "private"):
        return await _change(ctx, word.lower(), rest.strip())
    store, now = ctx.store, ctx.clock()
    known = await controls.active_memories(store, ctx.person_id, now)
    lines = [f"What I remember about you ({len(known)}):"]
    lines += [describe(m) for m in known] or ["- nothing yet"]
    prefs = await store.preferences(ctx.person_id)
    if prefs:
        lines.append("Your preferences: " + ", ".join(f"{k}={v}" for k, v in prefs.items()))
    count = await store.turn_count(ctx.inbound.conversation)
    lines.append(f"In this conversation I keep {count} messages.")
    learning = "on" if await store.memories.learning(ctx.person_id) else "off"
    lines.append(f"Learning is {learning}. /forget ID · /forget TEXT · /forget all · /export")
    return "\n".join(lines)


async def _change(ctx: Context, what: str, args: str) -> str:
    memory_id, _, text = args.partition(" ")
    memory_id = memory_id.lower()
    if not _MEMORY_ID.match(memory_id) or (what == "edit" and not text.strip()):
        return "Usage: /memory edit ID NEW TEXT, or /memory private ID (ids are in /memory)."
    now = ctx.clock()
    try:
        changed = await (
            controls.edit_memory(ctx.store, ctx.person_id, memory_id, text, now)
            if what == "edit" else controls.make_private(ctx.store, ctx.person_id, memory_id, now)
        )
    except controls.ControlError as err:
        return f"I can't save that: {err}."
    if changed is None:
        return f"You have no memory {memory_id}."
    return f"Done: {describe(changed)}"


async def forget_cmd(ctx: Context, args: str) -> str:
    store, person = ctx.store, ctx.person_id
    word = args.strip()
    if not word:
        deleted = await store.forget(ctx.inbound.conversation)
        return f"Done: I deleted {deleted} messages of this conversation and its summary."
    if ctx.inbound.is_group:
        return IN_PRIVATE.format(name="forget")
    if word.lower() == "all":
        gone = await controls.forget_everything(store, person)
        calendar = " And your linked calendar's login." if gone.calendar else ""
        return (f"Done: I deleted all {gone.memories} memories about you. Also "
                f"{gone.list_items} list items and {gone.schedules} reminders and briefings."
                f"{calendar}")
    if word.lower() in ("yes", "confirm"):
        pending = await store.memories.take_pending_forget(person)
        if not pending.ids and not pending.text:
            return "There is nothing waiting to be forgotten. Use /forget TEXT first."
        if not pending.text:
            count = await controls.forget_memories(store, person, list(pending.ids))
            return f"Done: I deleted {count} memories."
        gone = await controls.forget_words(store, person, list(pending.ids), pending.text)
        return (f"Done: I deleted {gone.memories} memories, {gone.list_items} list items, "
                f"{gone.schedules} reminders and every message of yours (and reply) "
                f"mentioning '{pending.text}'.")
    if _MEMORY_ID.match(word.lower()):
        count = await controls.forget_memories(store, person, [word.lower()])
        return f"Done: I forgot {word.lower()}." if count else f"You have no memory {word}."
    return await _forget_matching(ctx, word)


async def _forget_matching(ctx: Context, text: str) -> str:
    store, person, now = ctx.store.memories, ctx.person_id, ctx.clock()
    mine = [m for m in await store.memories(person) if m.active(now)]
    ranked = await store.search_text(Visibility(owner=person), text, now, 50)
    needle = text.lower()
    matches = [m for m in mine if needle in m.text.lower()]
    matches += [m for m in await store.memories_by_id(ranked) if m not in matches]
    matches = [m for m in matches if m.person_id == person][:20]
    await store.set_pending_forget(person, [m.id for m in matches], text)
    if not matches:
        return (f"I have no memory matching '{text}'. Send /forget yes to delete every "
                "message of yours (and my replies) mentioning it, and list items and "
                "reminders holding it.")
    listed = "\n".join(describe(m) for m in matches)
    return (f"These memories match:\n{listed}\nSend /forget yes to delete them, with every "
            "message of yours (and my replies) mentioning it, and list items and reminders "
            "holding it.")


async def export_cmd(ctx: Context, args: str) -> str:
    if ctx.inbound.is_group:
        return IN_PRIVATE.format(name="export")
    data = await controls.export(ctx.store, ctx.person_id)
    return json.dumps(data, ensure_ascii=False, indent=1)


async def learning_cmd(ctx: Context, args: str) -> str:
    store, choice = ctx.store.memories, args.strip().lower()
    if choice in ("on", "off"):
        await controls.set_learning(ctx.store, ctx.person_id, choice == "on")
        if choice == "off":
            return "I've stopped learning about you. What I already know stays (see /memory)."
        return "I'll learn from our conversations again."
    state = "on" if await store.learning(ctx.person_id) else "off"
    return f"Learning is {state}. Use /learning off or /learning on."


async def link_cmd(ctx: Context, args: str) -> str:
    if ctx.inbound.is_group:
        return IN_PRIVATE.format(name="link")
    store, now = ctx.store.memories, ctx.clock()
    if not args.strip():
        code = await store.create_link_code(ctx.person_id, now, LINK_TTL_SECONDS)
        minutes = LINK_TTL_SECONDS // 60
        return (f"Your link code is {code}. From your other account, send me /link {code} "
                f"within {minutes} minutes. It works once.")
    result = await store.redeem_link_code(args, ctx.person_id, now)
    if result.refusal is None:
        return "Linked: I now know your accounts are one person. /unlink separates them."
    return {
        LinkRefusal.UNKNOWN: "That code is not valid.",
        LinkRefusal.EXPIRED: "That code has expired. Ask for a new one with /link.",
        LinkRefusal.USED: "That code was already used. Ask for a new one with /link.",
        LinkRefusal.SAME_PERSON: "This account is already linked to that one.",
        LinkRefusal.CONFLICT: "I can't link these: they look like two different people.",
    }[result.refusal]


async def unlink_cmd(ctx: Context, args: str) -> str:
    conv, sender = ctx.inbound.conversation, ctx.inbound.sender
    space = sender.identity_space(conv.channel)
    new_person = await ctx.store.memories.unlink(ctx.person_id, space, sender.platform_id)
    if new_person is None:
        return "This account isn't linked to any other."
    return "Unlinked: this account is separate again, with what you told me here."


Handler = Callable[[Context, str], Awaitable[str]]
HANDLERS: dict[str, Handler] = {
    "memory": memory_cmd,
    "forget": forget_cmd,
    "export": export_cmd,
    "learning": learning_cmd,
    "link": link_cmd,
    "unlink": unlink_cmd,
}
