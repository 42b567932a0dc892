"""One turn: who is speaking, then the route — a short pipeline of steps, each answering or
passing the turn on: pairing, what came due, silence, an awaited calendar password, a yes or
no to a proposal, a command,
the message's media, the model's answer (:mod:`core.steps`, :mod:`core.answer`)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping, Sequence
from datetime import UTC, datetime, tzinfo

from core.answer import MISCONFIGURED, UNREACHABLE, Limits, ModelAnswer
from core.calendar.model import Calendar, Calendars, Linker
from core.calendar.turn import for_turn
from core.events import ConversationKey, Inbound, Trust
from core.ids import PersonId
from core.inbox.driver import commit_alone
from core.llm import ChatModel
from core.media import MediaPipeline
from core.memory.embedder import Embedder
from core.memory.learner import Learner
from core.memory.model import LearningWork
from core.memory.rerank import Reranker
from core.memory.service import MemoryService, MemorySettings
from core.offers.service import Offers
from core.profile import BotProfile
from core.reply import Reply
from core.schedule.times import resolve_zone, zone
from core.settings import PromptSettings
from core.steps import Commands, Linking, Media, Pairing, Proposals, Scheduled, silent
from core.store.base import Store
from core.summaries import Summaries
from core.tools import catalog
from core.tools.registry import Registry
from core.tools.selection import Selector
from core.turn import Answer, Preferences, Step, Turn

__all__ = ["MISCONFIGURED", "UNREACHABLE", "Agent", "route"]


def route(store: Store, media: MediaPipeline | None, tools: Mapping[str, Registry],
          linker: Linker | None, answer: ModelAnswer, offers: Offers | None = None,
          ) -> list[Step]:
    """The steps of a turn, in order; the last one always answers."""
    steps: list[Step] = [Pairing(store), Scheduled(store, tools, offers), silent]
    if linker is not None:
        steps.append(Linking(linker))
    steps += [Proposals(store, tools), Commands(store, media, linker)]
    if media is not None:
        steps.append(Media(media))
    return [*steps, answer]


class Agent:
    """Runs a turn through its route. Built from the fleet's parts (the composition root,
    ``bots/runtime.py``, and the test rigs hand them in); owns nothing but the route."""

    def __init__(
        self,
        store: Store,
        model: ChatModel,
        bots: Mapping[str, BotProfile],
        prompt: PromptSettings | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        reply_tokens: int = 1024,
        memory: MemorySettings | None = None,
        reranker: Reranker | None = None,
        embedder: Embedder | None = None,
        hold_for: float = 3600.0,
        media: MediaPipeline | None = None,
        calendars: Calendars | None = None,
        tools: Mapping[str, Registry] | None = None,
    ) -> None:
        self.store = store
        self.bots = dict(bots)
        self.clock = clock
        self.media = media
        self.memory = MemoryService(store.memories, model, clock, memory, reranker, embedder)
        self.learner = Learner(self.memory, store.memories.queue, self._model_for)
        # offers ride on the extraction's answer: no model call of their own
        self.offers = Offers(store, clock, lambda c: getattr(
            self.bots.get(c.bot), "timezone", None),
        ) if self.memory.settings.offers else None
        self.memory.commitments = self.offers.take if self.offers is not None else None
        self.memory.zone_of = self._zone_of
        self.summaries = Summaries(store, model)
        self.toolbox = tools if tools is not None else {
            name: catalog.registry(bot.tools) for name, bot in self.bots.items()}
        self.answer = ModelAnswer(store, model, self.memory, self.learner, self.toolbox,
                                  self.summaries, prompt or PromptSettings(),
                                  Limits(reply_tokens, hold_for))
        self.steps: Sequence[Step] = ()
        self.calendars = calendars  # builds the route

    async def _zone_of(self, work: LearningWork) -> tzinfo:
        """The person's zone (their preference, else their bot's): what they said is dated in
        their days when it is learned from."""
        prefs = await self.store.preferences(work.key.person_id)
        bot = self.bots.get(work.key.conversation.bot)
        return zone(resolve_zone(prefs.get("timezone"), getattr(bot, "timezone", None))[0])

    @property
    def calendars(self) -> Calendars | None:
        return self._calendars

    @calendars.setter
    def calendars(self, value: Calendars | None) -> None:
        """The fleet's calendars (their linker is a step of the route; test rigs set them
        after building the agent)."""
        self._calendars = value
        linker = value.linker if value is not None else None
        self.steps = route(self.store, self.media, self.toolbox, linker, self.answer,
                           self.offers)

    # the answer step's settings, as the agent's (tests and benchmarks tune them)
    @property
    def reply_tokens(self) -> int:
        return self.answer.limits.reply_tokens

    @reply_tokens.setter
    def reply_tokens(self, value: int) -> None:
        self.answer.limits = Limits(value, self.answer.limits.hold_for)

    @property
    def selector(self) -> Selector:
        return self.answer.selector

    @selector.setter
    def selector(self, value: Selector) -> None:
        self.answer.selector = value

    def _model_for(self, conversation: ConversationKey) -> str | None:
        bot = self.bots.get(conversation.bot)
        return bot.model if bot is not None else None

    def _calendar(self, inbound: Inbound, person: PersonId) -> Calendar | None:
        """The person's own calendar (in a group: their free/busy only); nobody else's."""
        if self.calendars is None:
            return None
        return for_turn(self.calendars.reader(  # one round of server reads a turn
            inbound.conversation.bot, person, owner=inbound.trust is Trust.OWNER,
            group=inbound.is_group))

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
                    Preferences(preferences), self._calendar(inbound, person))
        for step in self.steps:
            outcome = await step(turn)
            if isinstance(outcome, Answer):
                async for piece in outcome.stream:
                    yield piece
                return
            turn = outcome
        raise RuntimeError("the route ended without an answer")  # the last step answers

    # -- background upkeep ---------------------------------------------------------------

    def _schedule_summary(self, inbound: Inbound, bot: BotProfile) -> None:
        self.summaries.schedule(inbound, bot)

    def drop_background(self) -> None:
        """Stop summaries in progress (they run again later: nothing was advanced)."""
        self.summaries.drop()

    async def wait_background(self) -> None:
        await self.summaries.wait()
        await self.learner.idle()
