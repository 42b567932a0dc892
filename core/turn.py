"""One turn's explicit inputs and the shape of its route.

A turn runs a short route of steps (:mod:`core.steps`, :mod:`core.answer`): each step gets
the :class:`Turn` and either answers (an :class:`Answer`: the text to stream, the turn
recorded at its end) or hands the turn, possibly enriched, to the next step. Everything a
step needs is in the turn or in the step itself; the person's preferences are read at
most once per turn, by whichever step first asks.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass, replace
from datetime import datetime

from core.calendar.model import Calendar
from core.conversations.model import TurnRecord
from core.events import Inbound
from core.history import ToolTrace
from core.ids import PersonId
from core.media import MediaTurn
from core.profile import BotProfile
from core.reply import Reply
from core.schedule.times import resolve_zone
from core.tokens import estimate_tokens


class Preferences:
    """The person's explicit preferences, read from the store on first use, once."""

    def __init__(self, read: Callable[[], Awaitable[dict[str, str]]]) -> None:
        self._read = read
        self._value: dict[str, str] | None = None

    async def get(self) -> Mapping[str, str]:
        if self._value is None:
            self._value = await self._read()
        return self._value


@dataclass(frozen=True, slots=True)
class Turn:
    inbound: Inbound
    person: PersonId
    bot: BotProfile
    reply: Reply
    held: bool  # the message waited for a model: its sender was told so already
    clock: Callable[[], datetime]
    prefs: Preferences
    calendar: Calendar | None = None  # the calendar this turn may read, once its step ran
    media: MediaTurn | None = None  # what the turn sees of the message's files, once prepared

    def with_calendar(self, calendar: Calendar | None) -> Turn:
        return replace(self, calendar=calendar)

    def with_media(self, media: MediaTurn) -> Turn:
        """The turn as its media made it: ``media.inbound`` is what the rest sees."""
        return replace(self, inbound=media.inbound, media=media)

    async def zone(self) -> tuple[str, str]:
        """(the person's time zone, where it came from)."""
        prefs = await self.prefs.get()
        return resolve_zone(prefs.get("timezone"), self.bot.timezone)


class Answer:
    """A step's answer: the text to stream; the turn is recorded before its end."""

    def __init__(self, stream: AsyncIterator[str]) -> None:
        self.stream = stream


Step = Callable[[Turn], Awaitable["Turn | Answer"]]


async def record(turn: Turn, user_text: str | None, reply_text: str | None,
                 reply_tokens: int = 0, *, answer: str | None = None, command: bool = False,
                 trace: ToolTrace | None = None) -> None:
    """Hand the finished turn to the reply; an ``answer`` is stored until the platform
    accepts it."""
    inbound, reply = turn.inbound, turn.reply
    await reply.commit(TurnRecord(
        inbound=inbound, person_id=turn.person, user_text=user_text, reply_text=reply_text,
        user_tokens=estimate_tokens((user_text or "") + "".join(q.text for q in inbound.quoted)),
        reply_tokens=reply_tokens, answer=answer or None,
        answer_status=reply.status.value if answer else None, command=command, trace=trace,
    ))


def said(turn: Turn, text: str | None, *, user_text: str | None,
         reply_text: str | None = None, command: bool = False) -> Answer:
    """An answer of one fixed text (or none), recorded as such."""
    async def stream() -> AsyncIterator[str]:
        if text:
            yield text
        await record(turn, user_text, reply_text, answer=text, command=command)
    return Answer(stream())
