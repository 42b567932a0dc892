"""What one sync batch brings in: invites joined or ignored, each new message (or a reaction
or reply answering one of Kith's approval notices) decoded and submitted, and a message
that cannot be decrypted answered once per sender and room.

The channel (:mod:`adapters.matrix.channel`) runs the sync loop and saves the token only
after :meth:`Intake.messages` has submitted a batch, so a restart neither replays nor loses
messages.
"""

from __future__ import annotations

import contextlib
from typing import Any

from nio import (
    AsyncClient,
    InviteMemberEvent,
    MegolmEvent,
    RoomGetEventResponse,
    SyncResponse,
)

from adapters.base import ChannelContext
from adapters.matrix.config import MatrixConfig
from adapters.matrix.controls import answer_of, recalled, state_key, to_decision
from adapters.matrix.decode import RoomInfo, after_own_join, inviter, relation, to_inbound
from adapters.matrix.outbox import Outbox
from adapters.matrix.render import message_content
from core.events import Inbound
from core.logging import get_logger

log = get_logger("kith.matrix")
UNDECRYPTABLE = ("I couldn't decrypt your message (my device has no key for it). "
                 "Please send it again.")


class Intake:
    """Turns a joined room's new events into :class:`~core.events.Inbound` s for the core.

    ``client`` is the channel's current client (a replica that takes the lead opens a new
    one); ``display_name`` is the bot's, for mentions in rooms that set none."""

    def __init__(self, ctx: ChannelContext, config: MatrixConfig, client: AsyncClient,
                 outbox: Outbox) -> None:
        self.ctx = ctx
        self.config = config
        self.client = client
        self.outbox = outbox
        self.display_name = ""
        self._notified: set[tuple[str, str]] = set()  # (room, sender) told "undecryptable"

    async def invites(self, resp: SyncResponse) -> None:
        for room_id, info in resp.rooms.invite.items():
            # nio pops "content" from invite state sources: rebuild the member events.
            members = [{"type": "m.room.member", "state_key": e.state_key, "sender": e.sender,
                        "content": {"membership": e.membership}}
                       for e in info.invite_state if isinstance(e, InviteMemberEvent)]
            who = inviter(members, self.config.user_id)
            if who is not None and self.config.may_invite(who):
                result = await self.client.join(room_id)
                log.info("matrix_joined", room=room_id, inviter=who, result=type(result).__name__)
            else:
                log.info("matrix_invite_ignored", room=room_id, inviter=who)

    async def messages(self, resp: SyncResponse) -> None:
        for room_id, info in resp.rooms.join.items():
            events = list(info.timeline.events)
            sources = [{**e.source, "room_id": room_id} for e in events]
            kept = after_own_join(sources, self.config.user_id)
            if info.timeline.limited and len(kept) == len(sources):
                log.warning("matrix_timeline_gap", room=room_id)  # older events were skipped
            for event, source in zip(events[len(events) - len(kept):], kept, strict=True):
                if isinstance(event, MegolmEvent):
                    await self._undecryptable(room_id, event)
                    continue
                inbound = await self._decision(source, room_id) or to_inbound(
                    source, await self._room_info(room_id, source))
                if inbound is not None:
                    await self.ctx.submit(inbound)

    async def _decision(self, source: dict[str, Any], room_id: str) -> Inbound | None:
        """A reaction or reply answering one of Kith's approval notices, as a Decision."""
        answer = answer_of(source)
        if answer is None:
            return None
        stored = await self.ctx.state.get(state_key(answer[0]))
        found = recalled(stored) if stored is not None else None
        if found is None:
            return None
        return to_decision(source, await self._room_info(room_id, source), found[0],
                           answer[1], found[1])

    async def _room_info(self, room_id: str, source: dict[str, Any]) -> RoomInfo:
        room = self.client.rooms.get(room_id)
        members = ({uid: user.display_name or "" for uid, user in room.users.items()}
                   if room is not None else {})
        _, _, reply_to = relation(source.get("content") or {})
        if reply_to and reply_to not in self.outbox.sent:
            found = await self.client.room_get_event(room_id, reply_to)
            if (isinstance(found, RoomGetEventResponse)
                    and found.event.sender == self.config.user_id):
                self.outbox.sent[reply_to] = None
        return RoomInfo(
            bot=self.ctx.bot.name, user_id=self.config.user_id,
            display_name=members.get(self.config.user_id) or self.display_name,
            member_count=room.member_count if room is not None else 0,
            member_names=members, bot_events=self.outbox.sent, owners=self.config.owners,
            allowed_users=self.config.allowed_users,
            allowed_servers=self.config.allowed_servers,
            command_prefix=self.config.command_prefix)

    async def _undecryptable(self, room_id: str, event: MegolmEvent) -> None:
        log.warning("matrix_undecryptable", room=room_id, event_id=event.event_id,
                    sender=event.sender, session_id=event.session_id)
        key = (room_id, event.sender)
        if event.sender == self.config.user_id or key in self._notified:
            return
        self._notified.add(key)
        with contextlib.suppress(Exception):
            await self.client.request_room_key(event)
        try:
            await self.outbox.send(room_id, message_content(UNDECRYPTABLE, notice=True))
        except Exception:
            log.exception("matrix_notice_failed")
