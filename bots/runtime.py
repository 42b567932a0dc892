"""Assemble and run the fleet: store, model, agent, dispatcher and every bot's channels."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import Iterable
from urllib.parse import urlsplit

from adapters.base import ChannelContext, ChannelRuntime
from bots import assembly, heap, preflight
from bots import coordination as coord
from bots.calendars import Eraser, FleetCalendars
from bots.fleet import BotDefinition
from bots.reach import Reach
from bots.registry import channel_spec
from bots.supervisor import Channels, Supervised
from core.channel_state import FileState, Once, legacy_list
from core.dispatch import Dispatcher
from core.events import Inbound
from core.llm import ChatModel, OpenAIChatModel
from core.logging import get_logger, register_secrets
from core.media import MediaPipeline, MediaSource
from core.memory.embedder import LocalEmbedderMissing, LocalMiniLM
from core.memory.rerank import HTTPReranker
from core.memory.service import MemorySettings
from core.schedule.scheduler import MAX_SLEEP, Scheduler
from core.settings import ConfigError, Settings, secret_values
from core.store.base import Store
from core.store.sqlite import SQLiteStore
from core.vault import KEY_FILE, KeyProblem, Vault

log = get_logger("kith.runtime")
START_WAIT = 10.0  # seconds start waits for every channel's first try (a healthy fleet is up)
DRAIN = 5.0  # seconds running turns may take to finish at shutdown (they resume otherwise)


def open_store(settings: Settings) -> Store:
    """PostgreSQL when ``KITH_DATABASE_URL`` is set (replicas share it); SQLite otherwise."""
    if settings.database_url is None:
        return SQLiteStore(settings.data_dir / preflight.DB_NAME, settings.sqlite_synchronous)
    url = settings.database_url.get_secret_value()
    with contextlib.suppress(ValueError):
        register_secrets([p for p in (urlsplit(url).password,) if p])
    store: Store = preflight.postgres("store").PostgresStore(url)
    return store


def local_embedder(settings: Settings) -> LocalMiniLM | None:
    """The optional CPU embedding model, when asked for and the server has none."""
    if not settings.memory.local_embedder or settings.llm.embed_model is not None:
        return None
    try:
        return LocalMiniLM()
    except LocalEmbedderMissing as err:
        raise ConfigError(str(err)) from None


def secret_vault(settings: Settings) -> Vault:
    """People's secrets' vault: KITH_SECRET_KEY, else the key file beside the data."""
    key = settings.secret_key.get_secret_value() if settings.secret_key else None
    try:
        return Vault(key, settings.data_dir / KEY_FILE)
    except KeyProblem as err:
        raise ConfigError(str(err)) from None


class Kith:
    """The whole fleet in one process. ``start`` then ``stop``; both are idempotent-safe."""

    def __init__(
        self,
        settings: Settings,
        fleet: list[BotDefinition],
        *,
        channels: Iterable[str] | None = None,
        model: ChatModel | None = None,
        store: Store | None = None,
        coordination: coord.Coordination | None = None,
    ) -> None:
        self.settings = settings
        self.fleet = fleet
        self.only = set(channels) if channels is not None else None
        self.model: ChatModel = model or OpenAIChatModel(settings.llm)
        self.store = store or open_store(settings)
        # leadership of single-consumer channels, the web reply relay, channel state
        self.coordination = coordination or coord.for_store(settings, self.store)
        self.media = MediaPipeline(self.model, settings.speech, settings.media,
                                   settings.llm.vision_model, self._media_told())
        self.reranker = (
            HTTPReranker(settings.llm.base_urls[0], settings.llm.rerank_model,
                         settings.llm.api_key.get_secret_value())
            if settings.llm.rerank_model else None
        )
        embedder = local_embedder(settings)
        self.calendars = FleetCalendars(fleet, self.store.calendar_links, secret_vault(settings))
        self.reach = Reach(settings, fleet)  # web and MCP tools
        self.agent = assembly.agent(
            self.store, self.model, {b.profile.name: b.profile for b in fleet},
            prompt=settings.prompt, reply_tokens=settings.llm.max_reply_tokens,
            hold_for=settings.delivery.hold_for,
            memory=MemorySettings.of(
                settings.memory, embed=settings.llm.embed_model is not None or bool(embedder)),
            reranker=self.reranker, embedder=embedder,
            media=self.media, calendars=self.calendars, tools=self.reach.toolbox,
        )
        self.leases = self.coordination.leases
        self.dispatcher = Dispatcher(self.store, self.agent, settings.concurrency,
                                     settings.delivery, leases=self.leases)
        self.scheduler = Scheduler(
            self.store.schedule, self.dispatcher.submit,
            max_sleep=coord.REPLICATED_SCHEDULER_SLEEP if self.leases.replicated
            else MAX_SLEEP)
        self._adopting: asyncio.Task[None] | None = None
        self._warming: asyncio.Task[object] | None = None
        self.channels: dict[tuple[str, str], ChannelRuntime] = {}
        self.supervisor = Channels(())
        self.stopping = asyncio.Event()  # set by a signal: start stops waiting, input stops
        register_secrets(secret_values(settings))
        for bot in fleet:
            for config in bot.channels.values():
                register_secrets(secret_values(config))
            if bot.calendar is not None:
                register_secrets(secret_values(bot.calendar))

    def _media_told(self) -> Once:
        """The owner's one hint per missing model: shared by the replicas, or a file here."""
        data = self.settings.data_dir
        state = self.coordination.state_for("media/hints") or FileState(data / "media")
        said = (str(key).replace(":", ".") for key in legacy_list(data / "media_told.json"))
        return Once(state, said)

    def _build_channels(self) -> None:
        for bot in self.fleet:
            for name, config in bot.channels.items():
                if self.only is not None and name not in self.only:
                    continue
                state_dir = self.settings.data_dir / bot.profile.name / name
                state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
                os.chmod(state_dir, 0o700)
                os.chmod(state_dir.parent, 0o700)  # data/<bot>, made by mkdir's parents=True
                ctx = ChannelContext(
                    bot=bot.profile, channel=name, settings=self.settings, store=self.store,
                    controls=self.store,
                    submit=self.dispatcher.submit, state_dir=state_dir,
                    leadership=self.coordination.leadership, relay=self.coordination.relay,
                    shared_state=self.coordination.state_for(f"{name}/{bot.profile.name}"),
                    replicas=self.leases.replicas,
                )
                runtime = channel_spec(name).build(ctx, config)
                self.channels[(bot.profile.name, name)] = runtime
                self.dispatcher.register(bot.profile.name, name, runtime)
                if isinstance(runtime, MediaSource):
                    self.media.register(bot.profile.name, name, runtime)
                if isinstance(runtime, Eraser):  # deletes a message holding a password
                    self.calendars.register_eraser(bot.profile.name, name, runtime)

    async def start(self) -> None:
        self.settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        os.chmod(self.settings.data_dir, 0o700)  # people's words and keys live here
        await self.store.open()
        await self.coordination.open()
        await self.reach.start()
        self._build_channels()
        # Resume before consume: what was open before a restart (pending, answered but not
        # delivered, held for a model) is queued before any channel takes a new message,
        # so each conversation is answered in arrival order.
        await self.dispatcher.resume(run=False, only=self._serves)
        # Each channel starts on its own: one whose platform is down is retried in the
        # background and holds neither the gateway nor the other channels.
        self.supervisor = Channels(Supervised(bot, name, runtime)
                                   for (bot, name), runtime in self.channels.items())
        self.supervisor.start()
        try:
            await self.supervisor.first_tries(START_WAIT, self.stopping)
        finally:
            self.dispatcher.run()
        fatal = self.supervisor.fatal()
        if fatal is not None:
            raise fatal
        await self.agent.learner.resume()  # extraction work left waiting by the last run
        if self.leases.replicated:
            self._adopting = asyncio.create_task(coord.adopt_learning(self.agent.learner))
        self.scheduler.start()  # after resume: due reminders queue behind what was waiting
        # the model server's SDK (half a second to import) loads beside the running gateway,
        # not before /healthz answers, and not in the first person's turn; then what
        # start-up built leaves the garbage collector's view (bots/heap.py)
        self._warming = asyncio.create_task(asyncio.to_thread(heap.settle, "openai"))

    def _serves(self, inbound: Inbound) -> bool:
        """A held message is resumed only by a process that runs its channel."""
        conv = inbound.conversation
        return self.only is None or (conv.bot, conv.channel) in self.channels

    def request_stop(self) -> None:
        """A signal arrived (callable from a signal handler): stop waiting and taking input."""
        with contextlib.suppress(RuntimeError):  # no loop running: nothing is waiting
            asyncio.get_running_loop().call_soon_threadsafe(self.stopping.set)

    def takes_input(self, bot: str, channel: str) -> bool:
        """A webhook for this channel can be taken now (else 503: the platform retries)."""
        return not self.stopping.is_set() and any(
            run.running for run in self.supervisor.runs if (run.bot, run.channel) == (bot, channel))

    def channel_status(self) -> dict[str, str]:
        return self.supervisor.status()

    async def stop(self) -> None:
        # Input stops first (pollers, sync loops, mail listeners; webhooks answer 503), so
        # nothing is taken from a platform that the closing dispatcher could not record.
        self.stopping.set()
        await self.supervisor.stop_input()
        await self.scheduler.stop()
        if self._adopting is not None:
            self._adopting.cancel()
            await asyncio.gather(self._adopting, return_exceptions=True)
        if self._warming is not None:
            await asyncio.gather(self._warming, return_exceptions=True)
        await self.dispatcher.close(DRAIN)
        await self.supervisor.stop()
        await self.agent.wait_background()
        await self.media.aclose()
        await self.calendars.close()
        await self.reach.aclose()
        await self.agent.learner.close()  # what it had not extracted stays queued
        if self.reranker is not None:
            await self.reranker.aclose()
        close = getattr(self.model, "aclose", None)
        if close is not None:
            await close()
        await self.coordination.close()
        await self.store.close()
