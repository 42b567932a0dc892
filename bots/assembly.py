"""The agent, put together: its route of steps, its answer and the background work turns
start. The composition root (:mod:`bots.runtime`) builds the fleet's agent here; the test
rigs and benchmarks build theirs the same way, handing in what they need at construction.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime, tzinfo

from core.agent import Agent, Background
from core.answer import Limits, ModelAnswer
from core.calendar.model import Calendars
from core.llm import ChatModel
from core.media import MediaPipeline
from core.memory.embedder import Embedder
from core.memory.learner import Learner
from core.memory.model import LearningWork
from core.memory.rerank import Reranker
from core.memory.service import MemoryService, MemorySettings, ZoneOf
from core.offers.service import Offers
from core.profile import BotProfile
from core.schedule.times import resolve_zone, zone
from core.settings import PromptSettings
from core.steps import Commands, Linking, Media, Pairing, Proposals, Scheduled, TurnCalendar, silent
from core.store.base import PeopleStore, Store
from core.summaries import Summaries
from core.tools import catalog
from core.tools.registry import Registry
from core.tools.selection import Selector
from core.turn import Step


def route(store: Store, tools: Mapping[str, Registry], answer: ModelAnswer, *,
          media: MediaPipeline | None = None, calendars: Calendars | None = None,
          offers: Offers | None = None) -> list[Step]:
    """The steps of a turn, in order; the last one always answers."""
    linker = calendars.linker if calendars is not None else None
    steps: list[Step] = [Pairing(store)]
    if calendars is not None:
        steps.append(TurnCalendar(calendars))
    steps += [Scheduled(store, tools, offers), silent]
    if linker is not None:
        steps.append(Linking(linker))
    steps += [Proposals(store, tools), Commands(store, media, linker)]
    if media is not None:
        steps.append(Media(media))
    return [*steps, answer]


def person_zone(store: PeopleStore, bots: Mapping[str, BotProfile]) -> ZoneOf:
    """The person's zone (their preference, else their bot's): what they said is dated in
    their days when it is learned from."""
    async def zone_of(work: LearningWork) -> tzinfo:
        prefs = await store.preferences(work.key.person_id)
        bot = bots.get(work.key.conversation.bot)
        return zone(resolve_zone(prefs.get("timezone"), getattr(bot, "timezone", None))[0])
    return zone_of


def agent(
    store: Store,
    model: ChatModel,
    bots: Mapping[str, BotProfile],
    *,
    prompt: PromptSettings | None = None,
    clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    reply_tokens: int = 1024,
    hold_for: float = 3600.0,
    memory: MemorySettings | None = None,
    reranker: Reranker | None = None,
    embedder: Embedder | None = None,
    media: MediaPipeline | None = None,
    calendars: Calendars | None = None,
    tools: Mapping[str, Registry] | None = None,
    selector: Selector | None = None,
) -> Agent:
    """The agent of these bots, every part built here (``tools``: the registries by bot,
    else each bot's catalog tools)."""
    bots = dict(bots)
    remembers = MemoryService(store.memories, model, clock, memory, reranker, embedder)
    learner = Learner(remembers, store.memories.queue,
                      lambda c: bots[c.bot].model if c.bot in bots else None)
    # offers ride on the extraction's answer: no model call of their own
    offers = Offers(store, clock, lambda c: getattr(bots.get(c.bot), "timezone", None)) \
        if remembers.settings.offers else None
    remembers.commitments = offers.take if offers is not None else None
    remembers.zone_of = person_zone(store, bots)
    summaries = Summaries(store, model)
    toolbox = tools if tools is not None else {
        name: catalog.registry(bot.tools) for name, bot in bots.items()}
    answer = ModelAnswer(store, model, remembers, learner, toolbox, summaries,
                         prompt or PromptSettings(), Limits(reply_tokens, hold_for), selector)
    steps = route(store, toolbox, answer, media=media, calendars=calendars, offers=offers)
    return Agent(store, bots, steps, Background(remembers, learner, summaries), clock=clock)
