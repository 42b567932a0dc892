"""The route's steps before the model answers: who may talk, the turn's calendar, what came
due, a yes or no to a proposal, a command, the message's media. Each answers or passes the
turn on."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from core.calendar.links import SCRUBBED
from core.calendar.model import Calendars, Linker
from core.calendar.turn import for_turn
from core.commands import CommandContext, parse_command, run_command
from core.events import ReplyStatus, Sender, Trust
from core.media import MediaPipeline
from core.offers.due import Roles as DueRoles
from core.offers.due import due_text
from core.offers.service import Offers
from core.store.base import CommandStore, PersonStore
from core.store.base import Pairing as PairingState
from core.tools.approvals import NOT_WAITING, parse_answer, settle
from core.tools.base import ToolContext
from core.tools.registry import Registry
from core.turn import Answer, Turn, said

PAIRING = (
    "Hi! I'm a private assistant and only talk with people my owner has approved. "
    "If you know them, send them this code: {code}"
)


class Pairings(Protocol):
    """Whether a sender is approved (a new one is given a pairing code)."""

    async def pairing(self, bot: str, channel: str, sender: Sender) -> PairingState: ...


async def tool_context(turn: Turn, store: PersonStore) -> ToolContext:
    zone, source = await turn.zone()
    return ToolContext(turn.inbound, turn.person, store, turn.clock, zone, source,
                       turn.calendar)


class Pairing:
    """Unknown senders get nothing but a pairing prompt (default deny)."""

    def __init__(self, store: Pairings) -> None:
        self.store = store

    async def __call__(self, turn: Turn) -> Turn | Answer:
        inbound = turn.inbound
        if inbound.trust is not Trust.UNKNOWN:
            return turn
        conv = inbound.conversation
        pairing = await self.store.pairing(conv.bot, conv.channel, inbound.sender)
        if pairing.approved:
            return turn
        turn.reply.status = ReplyStatus.REFUSED
        answer = PAIRING.format(code=pairing.code) if pairing.new else None
        return said(turn, answer, user_text=None)


class Scheduled:
    """A reminder, briefing, offer or event reminder that came due: stored until the
    platform accepts it (what each says: :mod:`core.offers.due`)."""

    def __init__(self, store: DueRoles, tools: Mapping[str, Registry],
                 offers: Offers | None = None) -> None:
        self.store = store
        self.tools = tools
        self.offers = offers

    async def __call__(self, turn: Turn) -> Turn | Answer:
        if turn.inbound.scheduled is None:
            return turn
        registry = self.tools.get(turn.inbound.conversation.bot)
        text = await due_text(self.store, self.offers, turn.inbound, turn.person, turn.clock(),
                              turn.calendar, lambda n: bool(registry and registry.get(n)))
        return said(turn, text or None, user_text=None, reply_text=text or None)


class TurnCalendar:
    """The calendar this turn may read: the person's own (in a group, their free/busy
    only); nobody else's. Its server is read at most once a turn."""

    def __init__(self, calendars: Calendars) -> None:
        self.calendars = calendars

    async def __call__(self, turn: Turn) -> Turn | Answer:
        inbound = turn.inbound
        return turn.with_calendar(for_turn(self.calendars.reader(
            inbound.conversation.bot, turn.person, owner=inbound.trust is Trust.OWNER,
            group=inbound.is_group)))


async def silent(turn: Turn) -> Turn | Answer:
    """A message that wants no answer (a group's chatter): recorded, not answered."""
    if turn.inbound.wants_answer:
        return turn
    return said(turn, None, user_text=turn.inbound.text)


class Linking:
    """The awaited calendar password: consumed (its text scrubbed), never the model's."""

    def __init__(self, linker: Linker) -> None:
        self.linker = linker

    async def __call__(self, turn: Turn) -> Turn | Answer:
        answer = await self.linker.answer(turn.inbound, turn.person)
        if answer is None:
            return turn
        turn.reply.status = ReplyStatus.COMMAND
        return said(turn, answer, user_text=SCRUBBED, reply_text=answer, command=True)


class Proposals:
    """The person's bare yes or no (or a platform control's answer) decides their newest
    proposed action here (or the one the control names)."""

    def __init__(self, store: PersonStore, tools: Mapping[str, Registry]) -> None:
        self.store = store
        self.tools = tools

    async def __call__(self, turn: Turn) -> Turn | Answer:
        inbound = turn.inbound
        decision = inbound.decision
        approve = decision.approve if decision else parse_answer(inbound.text)
        tools = self.tools[turn.bot.name]
        if approve is None or not tools:
            return turn
        ctx = await tool_context(turn, self.store)
        answer = await settle(self.store.actions, tools, ctx, approve,
                              decision.action_id if decision else None)
        if answer is None and decision:
            answer = NOT_WAITING
        if answer is None:
            return turn
        turn.reply.status = ReplyStatus.COMMAND
        return said(turn, answer, user_text=inbound.text, reply_text=answer, command=True)


class Commands:
    """A bare slash command (not one inside a quote) answers itself."""

    def __init__(self, store: CommandStore, media: MediaPipeline | None,
                 linker: Linker | None) -> None:
        self.store = store
        self.media = media
        self.linker = linker

    async def __call__(self, turn: Turn) -> Turn | Answer:
        inbound = turn.inbound
        command = parse_command(inbound.text) if not inbound.quoted else None
        if command is None:
            return turn
        ctx = CommandContext(inbound, turn.person, self.store, turn.clock, turn.bot.timezone,
                             turn.calendar, self.linker)
        answer = await run_command(command, ctx)
        if answer is None:
            return turn
        if self.media is not None and command.name in ("forget", "reset"):
            self.media.forget(inbound)
        turn.reply.status = ReplyStatus.COMMAND
        return said(turn, answer, user_text=inbound.text, reply_text=answer, command=True)


class Media:
    """Voice notes and photos: what this turn sees of them (or only a notice)."""

    def __init__(self, pipeline: MediaPipeline) -> None:
        self.pipeline = pipeline

    async def __call__(self, turn: Turn) -> Turn | Answer:
        media = await self.pipeline.prepare(turn.inbound, turn.bot.vision_model)
        turn = turn.with_media(media)
        if media.answer:
            return turn
        return said(turn, media.notice, user_text=turn.inbound.text, reply_text=media.notice)
