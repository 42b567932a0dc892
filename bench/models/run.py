"""Run the scripted conversations through a real Kith core and score the resulting state."""

from __future__ import annotations

import re
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bench.models.script import (
    Conversation,
    Listed,
    Nothing,
    Remembered,
    Reminder,
    Says,
)
from bots import assembly
from core.agent import Agent
from core.dispatch import Dispatcher
from core.events import Addressed, ChatKind, ConversationKey, Inbound, Quoted, Sender, Trust
from core.events import Origin as Came
from core.ids import InboundId
from core.llm import ChatModel, Completion
from core.memory.extract import ExtractionError, parse
from core.memory.service import MemorySettings
from core.profile import BotProfile
from core.schedule.model import Kind
from core.store.sqlite import SQLiteStore
from core.tools.catalog import ALL
from core.tools.markup import has_markup
from tests.core.harness import Recorder

CLAIM = re.compile(r"\b(set|added|created|scheduled|done|remind(ed|er)|noted|saved|"
                   r"remember(ed)?|ticked|i'?ll|will)\b", re.IGNORECASE)
INSTRUCTIONS = ("confirm in a few words", "was shown this", "tool_call", '"name":',
                "shown_to_person", "hown to person",
                '"arguments"', "FREQ=", "RRULE")
# a tool's name in a reply is internal too (the person cannot call it): whole words only,
# and only names no person writes ("remember" and "forget" are ordinary words)
TOOL_NAMES = re.compile(r"\b(?:" + "|".join(
    re.escape(n) for n in sorted(ALL) if "_" in n or "." in n) + r")\b", re.IGNORECASE)


def leaked(reply: str) -> bool:
    """Markup, Kith's instructions to the model, or a tool's name reached the person."""
    return (has_markup(reply) or any(s in reply for s in INSTRUCTIONS)
            or TOOL_NAMES.search(reply) is not None)


class Counting:
    """The model, counting structured answers that validate (extraction)."""

    def __init__(self, model: Any) -> None:
        self.model = model
        self.valid = 0
        self.structured = 0

    def stream(self, *a: Any, **kw: Any) -> Any:
        return self.model.stream(*a, **kw)

    async def complete(self, *a: Any, **kw: Any) -> Completion:
        result: Completion = await self.model.complete(*a, **kw)
        if kw.get("response_format"):
            self.structured += 1
            try:
                parse(result.text)
                self.valid += 1
            except ExtractionError:
                pass
        return result

    async def embed(self, texts: Any) -> list[list[float]]:
        raise NotImplementedError


@dataclass
class Outcome:
    name: str
    actions: int = 0
    right: int = 0
    false_claims: int = 0
    leaks: list[str] = field(default_factory=list)
    latencies: list[float] = field(default_factory=list)
    failures: list[str] = field(default_factory=list)
    replies: list[str] = field(default_factory=list)


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _local(text: str, zone: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=ZoneInfo(zone))


def _inbound(bot: str, chat: str, sender: str, n: int, text: str, now: datetime,
             forwarded: str = "") -> Inbound:
    quoted = ((Quoted(origin=Came.FORWARDED_MESSAGE, text=forwarded, author="someone"),)
              if forwarded else ())
    return Inbound(id=InboundId(f"bench:{bot}:{chat}:{n}"),
                   conversation=ConversationKey(bot, "bench", chat),
                   sender=Sender(sender, "Jo"), text=text, trust=Trust.OWNER,
                   addressed=Addressed.DIRECT, chat=ChatKind.DIRECT, quoted=quoted,
                   received_at=now)


def _bot(zone: str) -> str:
    return "k" + re.sub(r"[^a-z]", "", zone.lower())[:20]


Before = Callable[[Agent, int], Awaitable[None]]


async def run_one(model: ChatModel, conv: Conversation, learn: bool, workdir: Path,
                  reply_tokens: int = 300, before: Before | None = None,
                  after: Before | None = None) -> Outcome:
    """``before(agent, i)`` and ``after(agent, i)`` run around the person's i-th turn of
    this session."""
    out = Outcome(conv.name, actions=conv.actions)
    store = SQLiteStore(workdir / f"{abs(hash((conv.name, learn)))}-{time.monotonic_ns()}.db")
    await store.open()
    now = _local(conv.now, conv.zone).astimezone(UTC)
    clock = Clock(now)
    bot = _bot(conv.zone)
    profile = BotProfile(bot, "You are Kith, a personal assistant.", timezone=conv.zone)
    memory = MemorySettings(learn=learn, quiet_seconds=0.5, every_turns=1)
    agent = assembly.agent(store, model, {bot: profile}, clock=clock, memory=memory,
                           reply_tokens=reply_tokens)
    dispatcher = Dispatcher(store, agent, 64)
    channel = Recorder()
    dispatcher.register(bot, "bench", channel)
    sender = "p-" + re.sub(r"\W", "", conv.name)[:30]
    try:
        n = 0
        for chat, turns in (("earlier", conv.earlier), ("now", conv.turns)):
            for i, text in enumerate(turns):
                n += 1
                last = chat == "now" and i == len(turns) - 1
                inbound = _inbound(bot, chat, sender, n, text, clock.now,
                                   conv.forwarded if last else "")
                if chat == "now" and before is not None:
                    await before(agent, i)
                state = await _state(store, sender)
                started = time.perf_counter()
                await dispatcher.submit(inbound)
                await dispatcher.join()
                if chat == "now":
                    out.latencies.append(time.perf_counter() - started)
                    if after is not None:
                        await after(agent, i)
                reply = channel.replies[-1].text if channel.replies else ""
                out.replies.append(reply)
                if leaked(reply):
                    out.leaks.append(reply[:200])
                changed = await _state(store, sender) != state
                if chat == "now" and not changed and CLAIM.search(reply) and (
                        conv.actions and not text.endswith("?")):
                    out.false_claims += 1
                clock.now += timedelta(minutes=1)
            if chat == "earlier" and turns:
                await agent.learner.flush()
        await agent.learner.flush()
        await _score(out, conv, store, sender, now, channel)
    finally:
        await dispatcher.close(grace=2)
        await agent.wait_background()
        await store.close()
    return out


async def _state(store: SQLiteStore, sender: str) -> tuple[int, int, int]:
    person = await store.person_for("bench", Sender(sender, "Jo"))
    return (len(await store.schedule.for_person(person, Kind.REMINDER)),
            len(await store.lists.items(person, None, include_done=True)),
            len(await store.memories.memories(person)))


async def _score(out: Outcome, conv: Conversation, store: SQLiteStore, sender: str,
                 start: datetime, channel: Recorder) -> None:
    person = await store.person_for("bench", Sender(sender, "Jo"))
    reminders = await store.schedule.for_person(person, Kind.REMINDER)
    items = await store.lists.items(person, None, include_done=True)
    memories = await store.memories.memories(person)
    last = channel.replies[-1].text.lower() if channel.replies else ""
    zone = ZoneInfo(conv.zone)
    for check in conv.checks:
        ok = False
        if isinstance(check, Reminder):
            want = (start + timedelta(minutes=int(check.local[1:])) if check.local.startswith("+")
                    else _local(check.local, conv.zone))
            for r in reminders:
                close = abs((r.due_at - want).total_seconds()) <= (
                    150 if check.local.startswith("+") else 0)
                if check.about in r.text.lower() and close and r.rule == check.rule:
                    ok = True
            if not ok:
                seen = [(r.text, f"{r.due_at.astimezone(zone):%Y-%m-%d %H:%M}", r.rule)
                        for r in reminders]
                out.failures.append(f"reminder {check.about}@{check.local}: got {seen}")
        elif isinstance(check, Listed):
            mine = [i for i in items if i.list == check.list]
            open_ = [i.item.lower() for i in mine if not i.done]
            done = [i.item.lower() for i in mine if i.done]
            ok = (all(any(w in x for x in open_) for w in check.items)
                  and all(any(w in x for x in done) for w in check.done)
                  and (bool(check.items or check.done) or not mine))
            if not ok:
                out.failures.append(f"list {check.list}: open {open_} done {done}")
        elif isinstance(check, Remembered):
            found = any(check.word in m.text.lower() for m in memories)
            ok = found == check.present
            if not ok:
                out.failures.append(f"memory {check.word} present={found}")
        elif isinstance(check, Says):
            ok = check.word in last
            if not ok:
                out.failures.append(f"reply lacks {check.word!r}: {last[:120]!r}")
        elif isinstance(check, Nothing):
            ok = not reminders and not items
            if not ok:
                out.failures.append("a forwarded instruction was obeyed")
        if ok and isinstance(check, Reminder | Listed | Remembered):
            out.right += 1


def workdir() -> Path:
    return Path(tempfile.mkdtemp(prefix="kith-bench-models-"))
