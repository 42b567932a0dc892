"""Delivery: hand a reply to its channel; deliver a stored reply again, with backoff, until
the platform takes it or the horizon passes. The model is never asked again here."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from core import metrics
from core.coordination import LeaseLost
from core.events import Inbound, Outbound, ReplyStatus
from core.logging import get_logger
from core.reply import DeliveryError, Reply, span
from core.settings import DeliverySettings
from core.store.base import Delivery, Store

log = get_logger("kith.dispatch")
DROPPED = ("I still couldn't reach my language model {horizon} after your message, so I've "
           "dropped it. Please send it again if it still matters.")


@runtime_checkable
class LeaderOnly(Protocol):
    """A channel only one replica can deliver on (it holds the device's keys: Matrix).
    The dispatcher leaves its conversations to the replica where this is true."""

    def delivers_here(self) -> bool: ...


class Channel(Protocol):
    """Where replies of one (bot, channel) go. Adapters implement it (adapters/base.py
    writes down the contract: return what the platform accepted, raise when it did not)."""

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound: ...

def _now() -> datetime:
    return datetime.now(UTC)


class Courier:
    """Where replies go, per (bot, channel), and how a refused one is tried again."""

    def __init__(self, store: Store, delivery: DeliverySettings, stop: asyncio.Event) -> None:
        self.store = store
        self.delivery = delivery
        self._stop = stop  # set when shutting down: a waiting retry stops (it resumes)
        self._channels: dict[tuple[str, str], Channel] = {}

    def register(self, bot: str, channel: str, target: Channel) -> None:
        self._channels[(bot, channel)] = target

    def delivers_here(self, conversation: str) -> bool:
        """False when the conversation's channel delivers only on another replica."""
        bot, channel = conversation.split("/", 2)[:2]
        target = self._channels.get((bot, channel))
        return not isinstance(target, LeaderOnly) or target.delivers_here()

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound:
        conv = inbound.conversation
        target = self._channels.get((conv.bot, conv.channel))
        if target is None:
            log.error("no_channel_for_reply")
            raise DeliveryError("no channel for this reply", permanent=True)
        try:
            out = await target.deliver(inbound, reply)
        except (DeliveryError, LeaseLost, asyncio.CancelledError):
            raise  # LeaseLost: the turn's commit was refused, so the reply is not sent
        except Exception as err:  # an adapter bug or an unexpected platform answer
            log.exception("delivery_crashed")
            raise DeliveryError(f"delivery crashed: {type(err).__name__}") from err
        return out if out is not None else reply.outbound(reply.shown)

    async def redeliver(self, inbound: Inbound, state: Delivery, *, first: bool) -> bool:
        """Deliver the stored reply until the platform takes it or the horizon passes."""
        conv = inbound.conversation
        tries = 0 if first else 1
        while True:
            if tries and not await self.pause(tries):
                return False
            answered = state.answered_at or _now()
            if (_now() - answered).total_seconds() > self.delivery.give_up_after:
                await self.undeliverable(inbound)
                return True
            reply = Reply.stored(inbound, state.reply or "",
                                 ReplyStatus(state.reply_status or ReplyStatus.OK.value),
                                 shown=state.platform_ids,
                                 recorder=lambda ids: self.store.record_sent(inbound.id, ids))
            metrics.DELIVERY_RETRIES.labels(channel=conv.channel).inc()
            try:
                out = await self.deliver(inbound, reply)
            except DeliveryError as err:
                log.warning("redelivery_failed", error=str(err), attempt=tries + 1)
                if err.permanent:
                    await self.undeliverable(inbound)
                    return True
                tries += 1
                state = await self.store.delivery(inbound.id) or state
                continue
            await self.store.mark_delivered(inbound.id, out.platform_ids or reply.shown)
            metrics.MESSAGES_OUT.labels(channel=conv.channel, status=reply.status.value).inc()
            log.info("redelivered", attempts=tries + 1)
            return True

    async def undeliverable(self, inbound: Inbound) -> None:
        await self.store.mark_undeliverable(inbound.id)
        metrics.UNDELIVERABLE.labels(channel=inbound.conversation.channel).inc()
        log.error("undeliverable", give_up_after=self.delivery.give_up_after)

    async def drop(self, inbound: Inbound) -> None:
        """Past the hold horizon: tell the person the message was dropped (once)."""
        await self.store.drop_held(inbound.id)
        metrics.HELD.labels(outcome="dropped").inc()
        log.error("held_message_dropped", hold_for=self.delivery.hold_for)
        text = DROPPED.format(horizon=span(self.delivery.hold_for))
        try:
            await self.deliver(inbound, Reply.stored(inbound, text, ReplyStatus.FAILED))
        except DeliveryError as err:
            log.warning("drop_notice_failed", error=str(err))

    async def pause(self, tries: int) -> bool:
        """Back off before trying again; False when shutting down (the work resumes)."""
        d = self.delivery
        delay = min(d.retry_max, d.retry_min * 2 ** (tries - 1))
        try:
            await asyncio.wait_for(self._stop.wait(), delay)
        except TimeoutError:
            return True
        return False

