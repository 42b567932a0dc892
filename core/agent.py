"""One turn: who is speaking, then the route — a short pipeline of steps, each answering or
passing the turn on: pairing, the turn's calendar, what came due, silence, an awaited
calendar password, a yes or no to a proposal, a command, the message's media, the model's
answer (:mod:`core.steps`, :mod:`core.answer`).

The agent builds none of it: the composition root (``bots/assembly.py``, used by
``bots/runtime.py`` and the test rigs) builds the steps, the answer and the background
work and hands them in."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from core.answer import MISCONFIGURED, UNREACHABLE
from core.events import Inbound, Sender
from core.inbox.driver import commit_alone
from core.inbox.store import TurnCommit
from core.memory.learner import Learner
from core.memory.service import MemoryService
from core.people.model import Person
from core.profile import BotProfile
from core.reply import Reply
from core.summaries import Summaries
from core.turn import Answer, Preferences, Step, Turn

__all__ = ["MISCONFIGURED", "UNREACHABLE", "Agent", "Background", "TurnStore"]


class TurnStore(TurnCommit, Protocol):
    """What the agent itself reads and writes: who is speaking with their preferences (one
    read at a turn's start), and a turn it ran alone."""

    async def identify(self, channel: str, sender: Sender) -> Person: ...


@dataclass(frozen=True, slots=True)
class Background:
    """What turns start beside themselves: the memory they learn into, its batched
    extraction, and the conversations' summaries. Drained at shutdown."""

    memory: MemoryService
    learner: Learner
    summaries: Summaries


class Agent:
    """Runs a turn through its route (the last step always answers)."""

    def __init__(self, store: TurnStore, bots: Mapping[str, BotProfile],
                 route: Sequence[Step], background: Background, *,
                 clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self.store = store
        self.bots = dict(bots)
        self.steps = tuple(route)
        self.clock = clock
        self.memory = background.memory
        self.learner = background.learner
        self.summaries = background.summaries

    def turn(self, inbound: Inbound, *, held: bool = False) -> Reply:
        """One turn's reply; its outcome is the reply's ``status`` and ``record`` (the turn,
        handed to ``reply.commit``: the dispatcher writes it with the message's status; run
        alone, it is recorded here). When no model answers, the status is FAILED, the turn
        is not recorded (the dispatcher holds the message and runs it again later), and
        the person is told so — unless ``held``: they were told already."""
        reply = Reply(inbound)
        reply.on_commit(lambda record: commit_alone(self.store, record))
        return reply.attach(self._run(inbound, reply, held))

    async def _run(self, inbound: Inbound, reply: Reply, held: bool) -> AsyncIterator[str]:
        conv = inbound.conversation
        who = await self.store.identify(inbound.sender.identity_space(conv.channel),
                                        inbound.sender)  # the person and their preferences
        person = who.id

        async def preferences() -> dict[str, str]:
            return who.preferences

        turn = Turn(inbound, person, self.bots[conv.bot], reply, held, self.clock,
                    Preferences(preferences), None)
        for step in self.steps:
            outcome = await step(turn)
            if isinstance(outcome, Answer):
                async for piece in outcome.stream:
                    yield piece
                return
            turn = outcome
        raise RuntimeError("the route ended without an answer")  # the last step answers

    # -- background upkeep ---------------------------------------------------------------

    def drop_background(self) -> None:
        """Stop summaries in progress (they run again later: nothing was advanced)."""
        self.summaries.drop()

    async def wait_background(self) -> None:
        await self.summaries.wait()
        await self.learner.idle()
