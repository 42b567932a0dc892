"""Where replies go, per (bot, channel): hand a reply to its channel, and say what the
platform did with it. Retrying and giving up are the lifecycle's (``core.inbox.lifecycle``)."""

from __future__ import annotations

import asyncio
from typing import Protocol, runtime_checkable

from core.coordination import LeaseLost
from core.events import ConversationKey, Inbound, Outbound
from core.logging import get_logger
from core.reply import DeliveryError, Reply, span

log = get_logger("kith.dispatch")
DROPPED = ("I still couldn't reach my language model {horizon} after your message, so I've "
           "dropped it. Please send it again if it still matters.")
QUEUED = ("I'm still waiting for my language model to answer an earlier message of yours. "
          "I've kept this one too and will answer it after that one, in order.")


def notice_text(kind: str, hold_for: float) -> str:
    return DROPPED.format(horizon=span(hold_for)) if kind == "dropped" else QUEUED


@runtime_checkable
class LeaderOnly(Protocol):
    """A channel only one replica can deliver on (it holds the device's keys: Matrix).
    The dispatcher leaves its conversations to the replica where this is true."""

    def delivers_here(self) -> bool: ...


class Channel(Protocol):
    """Where replies of one (bot, channel) go. Adapters implement it (adapters/base.py
    writes down the contract: return what the platform accepted, raise when it did not)."""

    async def deliver(self, inbound: Inbound, reply: Reply) -> Outbound: ...


class Channels:
    """The registered channels, and one delivery attempt on them."""

    def __init__(self) -> None:
        self._channels: dict[tuple[str, str], Channel] = {}

    def register(self, bot: str, channel: str, target: Channel) -> None:
        self._channels[(bot, channel)] = target

    def delivers_here(self, conversation: ConversationKey) -> bool:
        """False when the conversation's channel delivers only on another replica."""
        target = self._channels.get((conversation.bot, conversation.channel))
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
