"""Channels start and fail on their own.

Each channel starts in a task of its own. A platform that is down (a homeserver that does not
answer, a Bot API that times out) is tried again in the background with backoff while every
other channel and the gateway run; a refused login (:class:`adapters.base.ChannelRefused`)
disables that channel with one log line. ``status()`` is what ``/readyz`` shows.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from adapters.base import ChannelRefused, ChannelRuntime, InputChannel
from core.logging import get_logger
from core.settings import ConfigError

log = get_logger("kith.channels")
ATTEMPT = 30.0  # seconds one start may take before it counts as failed
BACKOFF, BACKOFF_MAX = 1.0, 60.0
STOP_WITHIN = 3.0  # seconds a channel's stop (or stop_input) may take at shutdown


class State(StrEnum):
    STARTING = "starting"
    RUNNING = "running"
    RETRYING = "retrying"
    DISABLED = "disabled"


@dataclass(frozen=True, slots=True)
class Status:
    state: State
    error: str = ""
    attempts: int = 0

    def describe(self) -> str:
        return f"{self.state}: {self.error}" if self.error else str(self.state)


def _why(err: BaseException) -> str:
    text = str(err).strip().splitlines()[0][:200] if str(err).strip() else ""
    return f"{type(err).__name__}: {text}" if text else type(err).__name__


class Supervised:
    """One channel: started, retried with backoff, or disabled."""

    def __init__(self, bot: str, channel: str, runtime: ChannelRuntime, *,
                 attempt: float = ATTEMPT, backoff: float = BACKOFF,
                 backoff_max: float = BACKOFF_MAX) -> None:
        self.bot, self.channel, self.runtime = bot, channel, runtime
        self.attempt, self.backoff, self.backoff_max = attempt, backoff, backoff_max
        self.status = Status(State.STARTING)
        self.first_try = asyncio.Event()  # set once the first attempt ended, either way
        self.fatal: ConfigError | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name=f"start:{self.channel}/{self.bot}")

    async def _run(self) -> None:
        delay = self.backoff
        attempts = 0
        while True:
            attempts += 1
            self.status = Status(State.STARTING, self.status.error, attempts)
            try:
                await asyncio.wait_for(self.runtime.start(), self.attempt)
            except ConfigError as err:  # the configuration is wrong: kith serve exits 2
                self.fatal = err
                self.status = Status(State.DISABLED, str(err), attempts)
                await self._quiet_stop()
                self.first_try.set()
                return
            except ChannelRefused as err:
                self.status = Status(State.DISABLED, str(err), attempts)
                log.error("channel_disabled", bot=self.bot, channel=self.channel,
                          reason=str(err))
                await self._quiet_stop()
                self.first_try.set()
                return
            except Exception as err:  # the platform is down: the others run on
                why = (f"did not start within {self.attempt:g}s"
                       if isinstance(err, TimeoutError) else _why(err))
                self.status = Status(State.RETRYING, why, attempts)
                log.warning("channel_start_failed", bot=self.bot, channel=self.channel,
                            error=why, retry_in=delay)
                await self._quiet_stop()
                self.first_try.set()
                await asyncio.sleep(delay)
                delay = min(delay * 2, self.backoff_max)
                continue
            self.status = Status(State.RUNNING, attempts=attempts)
            log.info("channel_started", bot=self.bot, channel=self.channel)
            self.first_try.set()
            return

    async def _quiet_stop(self) -> None:
        """Undo a half-done start before the next try (a stop must not end the retries)."""
        try:
            await asyncio.wait_for(self.runtime.stop(), STOP_WITHIN)
        except Exception as err:
            log.warning("channel_stop_failed", bot=self.bot, channel=self.channel,
                        error=_why(err))

    @property
    def running(self) -> bool:
        return self.status.state is State.RUNNING

    async def cancel(self) -> None:
        """Stop trying to start (shutdown)."""
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            if self.status.state is State.STARTING:  # cut short while starting
                await self._quiet_stop()

    async def stop_input(self) -> None:
        if self.running and isinstance(self.runtime, InputChannel):
            await _bounded(self.runtime.stop_input(), self, "channel_stop_input_failed")

    async def stop(self) -> None:
        if self.running:
            await _bounded(self.runtime.stop(), self, "channel_stop_failed")


async def _bounded(work: object, who: Supervised, event: str) -> None:
    assert asyncio.iscoroutine(work)
    try:
        await asyncio.wait_for(work, STOP_WITHIN)
    except Exception as err:
        log.warning(event, bot=who.bot, channel=who.channel, error=_why(err))


class Channels:
    """Every channel of the fleet, started side by side."""

    def __init__(self, runs: Iterable[Supervised]) -> None:
        self.runs = list(runs)

    def start(self) -> None:
        for run in self.runs:
            run.start()

    async def first_tries(self, within: float, abort: asyncio.Event) -> None:
        """Wait (at most ``within`` seconds, or until ``abort``) until every channel has
        tried once: a healthy fleet is up when this returns, a platform that hangs does
        not hold the gateway longer than ``within``."""
        waits = [asyncio.ensure_future(run.first_try.wait()) for run in self.runs]
        aborted = asyncio.ensure_future(abort.wait())
        deadline = time.monotonic() + within
        try:
            pending = set(waits)
            while pending and not abort.is_set():
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                _, pending = await asyncio.wait(pending | {aborted}, timeout=left,
                                                return_when=asyncio.FIRST_COMPLETED)
                pending.discard(aborted)
        finally:
            for task in (*waits, aborted):
                task.cancel()
            await asyncio.gather(*waits, aborted, return_exceptions=True)

    def fatal(self) -> ConfigError | None:
        """A channel's configuration error found while starting (kith serve exits 2)."""
        return next((run.fatal for run in self.runs if run.fatal is not None), None)

    def status(self) -> dict[str, str]:
        return {f"{run.channel}/{run.bot}": run.status.describe() for run in self.runs}

    async def stop_input(self) -> None:
        await asyncio.gather(*(run.stop_input() for run in self.runs))

    async def stop(self) -> None:
        await asyncio.gather(*(run.cancel() for run in self.runs))
        await asyncio.gather(*(run.stop() for run in self.runs))
