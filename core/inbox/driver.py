"""The lifecycle's driver: feeds one message's events to :func:`core.inbox.lifecycle.step`
and carries out the actions (the store, the agent, the channels, the pauses).

A turn holds a concurrency slot only while the model works; delivery (paced by the
platform) starts as soon as there is text and runs outside it. The turn's commit happens
inside the reply, before its last text is handed over, so a reply is never shown before
its turn is recorded; among replicas the commit carries the conversation's ``fence``.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Protocol

from core import metrics
from core.conversations.model import TurnRecord
from core.coordination import LeaseLost
from core.events import ConversationKey, Inbound, ReplyStatus, Trust
from core.ids import PersonId, PlatformMessageId
from core.inbox.delivery import Channels, notice_text
from core.inbox.lifecycle import (
    Action,
    Arrived,
    Commit,
    Delivered,
    Drop,
    Event,
    Hold,
    Look,
    MarkDelivered,
    MarkUndeliverable,
    ModelDown,
    Notify,
    Policy,
    Redeliver,
    Refused,
    RunTurn,
    State,
    Step,
    TurnCrashed,
    TurnEnded,
    Wait,
    step,
    turn_status,
)
from core.inbox.model import Delivery, InboxStatus
from core.inbox.store import Ledger, TurnCommit
from core.logging import bound_context, get_logger
from core.reply import DeliveryError, Reply
from core.settings import DeliverySettings

log = get_logger("kith.dispatch")
RUNNING = (InboxStatus.PENDING, InboxStatus.HELD)


class TurnRunner(Protocol):
    def turn(self, inbound: Inbound, *, held: bool = False) -> Reply: ...


def _now() -> datetime:
    return datetime.now(UTC)


def policy_of(settings: DeliverySettings) -> Policy:
    return Policy(settings.hold_for, settings.give_up_after, settings.retry_min,
                  settings.retry_max)


async def commit_alone(store: TurnCommit, record: TurnRecord) -> None:
    """Record a turn run outside the dispatcher (a tool, a benchmark): one process,
    nothing to fence."""
    await store.finish_turn(record, turn_status(record.answer is not None), fence=None)


class Driver:
    """Runs messages through their lifecycle. ``held``: conversations waiting for a model."""

    def __init__(self, store: Ledger, agent: TurnRunner, channels: Channels, policy: Policy,
                 slots: asyncio.Semaphore, stop: asyncio.Event) -> None:
        self.store = store
        self.agent = agent
        self.channels = channels
        self.policy = policy
        self._slots = slots
        self._stop = stop  # set when shutting down: a pause ends (the message resumes)
        self.held: set[ConversationKey] = set()  # conversations waiting for a model
        self._notices: set[asyncio.Task[None]] = set()

    async def arrived(self, inbound: Inbound) -> None:
        """A new message behind one that waits for a model is held too, and its sender
        told at once (the notice goes out in the background)."""
        waits = inbound.wants_answer and inbound.scheduled is None and \
            inbound.trust is not Trust.UNKNOWN  # a model's answer, not a reminder or pairing
        if not waits or inbound.conversation not in self.held:
            return
        _, actions = step(State(), Arrived(behind_held=True), _now(), self.policy)
        for action in actions:
            if isinstance(action, Notify):
                task = asyncio.create_task(self._notify(inbound, action))
                self._notices.add(task)
                task.add_done_callback(self._notices.discard)
            else:
                await self._write(action, inbound, None)

    async def process(self, inbound: Inbound, fence: int | None) -> bool:
        """Answer and deliver one message; False when it must wait for a restart."""
        conv = inbound.conversation
        with bound_context(bot=conv.bot, channel=conv.channel, conversation=str(conv),
                           message_id=inbound.id):
            try:
                return await self._drive(inbound, fence)
            finally:
                self.held.discard(conv)

    async def _drive(self, inbound: Inbound, fence: int | None) -> bool:
        delivery = await self.store.delivery(inbound.id)
        state = State.of(delivery)
        event: Event = Look()
        while True:
            state, actions = self._step(inbound, state, event)
            next_event: Event | None = None
            for action in actions:
                match action:
                    case Wait(seconds=seconds):
                        if not await self._pause(seconds):
                            return False
                        delivery = await self.store.delivery(inbound.id) or delivery
                        state, next_event = State.of(delivery, state.tries), Look()
                    case RunTurn(held=held):
                        shown = delivery.platform_ids if delivery else ()
                        state, next_event = await self._turn(inbound, state, held, shown, fence)
                    case Redeliver():
                        next_event = await self._redeliver(inbound, delivery, state.tries)
                    case _:
                        await self._write(action, inbound, fence)
            if next_event is None:
                return True
            event = next_event

    def _step(self, inbound: Inbound, state: State, event: Event) -> Step:
        after, actions = step(state, event, _now(), self.policy)
        key = inbound.conversation
        if isinstance(event, ModelDown):
            self.held.add(key)
            if state.status is InboxStatus.PENDING:
                metrics.HELD.labels(outcome="held").inc()
                log.warning("held_for_model")
        elif isinstance(event, TurnEnded):
            self.held.discard(key)
            if state.status is InboxStatus.HELD:
                metrics.HELD.labels(outcome="answered").inc()
        return after, actions

    # -- actions -------------------------------------------------------------------------

    async def _turn(self, inbound: Inbound, state: State, held: bool,
                    shown: tuple[PlatformMessageId, ...],
                    fence: int | None) -> tuple[State, Event | None]:
        """Run the turn and start its delivery; the event is what became of both."""
        async def commit(record: TurnRecord) -> None:
            nonlocal state
            state, actions = self._step(inbound, state, TurnEnded(record.answer is not None))
            for action in actions:
                if isinstance(action, Commit):
                    await self.store.finish_turn(record, action.status, fence=fence)

        started = time.perf_counter()
        sending: asyncio.Task[Delivered | Refused] | None = None
        async with self._slots:
            reply = self.agent.turn(inbound, held=held)
            reply.on_commit(commit)
            reply.shown = shown
            reply.on_sent(lambda ids: self.store.record_sent(inbound.id, ids))
            try:
                if held:  # show nothing until a model answers
                    await reply.started()
                if reply.text or not reply.done:
                    sending = asyncio.create_task(self._deliver(inbound, reply))
                await reply.finished()
            except asyncio.CancelledError:
                reply.cancel()  # shutting down: the message stays open and resumes
                if sending is not None:
                    sending.cancel()
                raise
        if isinstance(reply.error, LeaseLost):  # nothing was written, and nothing is delivered
            if sending is not None:
                sending.cancel()
                await asyncio.gather(sending, return_exceptions=True)
            raise reply.error
        committed = state.status not in RUNNING
        if reply.error is not None or not committed:
            if sending is not None:  # a notice (no model answered): best effort, never again
                await asyncio.gather(sending, return_exceptions=True)
            if reply.error is not None:
                log.error("turn_crashed", error=repr(reply.error))
            if not committed:
                if reply.error is None and reply.status is ReplyStatus.FAILED:
                    return state, ModelDown()
                return state, TurnCrashed()
        if state.status is not InboxStatus.ANSWERED or not reply.text.strip():
            if sending is not None:  # nothing to deliver (context only, silent refusal)
                await asyncio.gather(sending, return_exceptions=True)
            return state, None
        outcome = await sending if sending is not None else \
            self._refused(DeliveryError("delivery did not start"), "delivery_failed")
        if isinstance(outcome, Delivered):
            metrics.TURN_SECONDS.observe(time.perf_counter() - started)
        return state, outcome

    async def _deliver(self, inbound: Inbound, reply: Reply) -> Delivered | Refused:
        try:
            out = await self.channels.deliver(inbound, reply)
        except DeliveryError as err:
            return self._refused(err, "delivery_failed")
        return Delivered(out.platform_ids or reply.shown, reply.status.value)

    @staticmethod
    def _refused(err: DeliveryError, event: str, **extra: object) -> Refused:
        log.warning(event, error=str(err), permanent=err.permanent, **extra)
        return Refused(err.permanent)

    async def _redeliver(self, inbound: Inbound, delivery: Delivery | None,
                         tries: int) -> Delivered | Refused:
        """The stored reply, handed to its channel again (never the model)."""
        text, status = (delivery.reply, delivery.reply_status) if delivery else (None, None)
        reply = Reply.stored(inbound, text or "", ReplyStatus(status or ReplyStatus.OK.value),
                             shown=delivery.platform_ids if delivery else (),
                             recorder=lambda ids: self.store.record_sent(inbound.id, ids))
        metrics.DELIVERY_RETRIES.labels(channel=inbound.conversation.channel).inc()
        try:
            out = await self.channels.deliver(inbound, reply)
        except DeliveryError as err:
            return self._refused(err, "redelivery_failed", attempt=tries + 1)
        log.info("redelivered", attempts=tries + 1)
        return Delivered(out.platform_ids or reply.shown, reply.status.value)

    async def _write(self, action: Action, inbound: Inbound, fence: int | None) -> None:
        channel = inbound.conversation.channel
        match action:
            case Commit(status=status):  # a crashed turn: given up, nothing of it recorded
                try:
                    # no one's: a crashed turn records no message
                    nobody = PersonId("")
                    await self.store.finish_turn(TurnRecord(inbound, nobody, None, None), status,
                                                 fence=fence)
                except Exception:
                    log.exception("mark_failed_failed")
            case MarkDelivered(platform_ids=ids, reply_status=reply_status):
                await self.store.mark_delivered(inbound.id, ids)
                metrics.MESSAGES_OUT.labels(channel=channel, status=reply_status).inc()
            case MarkUndeliverable():
                await self.store.mark_undeliverable(inbound.id)
                metrics.UNDELIVERABLE.labels(channel=channel).inc()
                log.error("undeliverable", give_up_after=self.policy.give_up_after)
            case Hold(since=since):
                await self.store.hold(inbound.id, since)
            case Drop():
                await self.store.drop_held(inbound.id)
                metrics.HELD.labels(outcome="dropped").inc()
                log.error("held_message_dropped", hold_for=self.policy.hold_for)
            case Notify():
                await self._notify(inbound, action)

    async def _notify(self, inbound: Inbound, notify: Notify) -> None:
        text = notice_text(notify.notice.value, self.policy.hold_for)
        try:
            await self.channels.deliver(inbound, Reply.stored(inbound, text, ReplyStatus.FAILED))
        except DeliveryError as err:
            log.warning("notice_failed", notice=notify.notice.value, error=str(err))

    async def _pause(self, seconds: float) -> bool:
        """Back off before trying again; False when shutting down (the work resumes)."""
        try:
            await asyncio.wait_for(self._stop.wait(), seconds)
        except TimeoutError:
            return True
        return False

    async def close(self) -> None:
        await asyncio.gather(*self._notices, return_exceptions=True)
