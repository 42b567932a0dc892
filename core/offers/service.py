"""Offers: made from the extraction's commitments, sent when their scheduled turn is due.

``take`` runs inside the batched extraction (no model call of its own): for each dated
plan said in the person's own words in a direct chat, it keeps an offer and schedules the
turn that sends it (at once, or when their quiet hours end). ``send`` runs when that turn
is due: it checks the rules again (time past, kind declined, daily limit, quiet hours) and
turns the offer into a proposed action — the platform shows its yes/no controls, and the
person's yes creates the reminder or event through the durable action path.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Protocol

from core.actions.model import Action, ActionKey, State
from core.actions.store import ActionStore
from core.events import Inbound
from core.ids import ConversationKey, PersonId
from core.logging import get_logger
from core.memory.extract import Commitment
from core.memory.model import LearningWork, Said
from core.offers.model import (
    Offer,
    OfferKind,
    OfferState,
    OfferStore,
    drop_reason,
    fingerprint,
    local_when,
    remind_at,
)
from core.offers.quiet import quiet_end, stored_quiet
from core.provenance import Origin, message_origin
from core.schedule.model import Kind, NewSchedule, Schedule, ScheduleStore
from core.schedule.times import local_day_bounds, resolve_zone, say_local, zone

log = get_logger("kith.offers")
TTL = timedelta(hours=24)  # an offer not answered by then (or by its time) is void
TOOLS = {OfferKind.REMINDER: "create_reminder", OfferKind.EVENT: "create_event"}


class Roles(Protocol):
    """What offers use of the Store."""

    @property
    def offers(self) -> OfferStore: ...

    @property
    def schedule(self) -> ScheduleStore: ...

    @property
    def actions(self) -> ActionStore: ...

    async def preferences(self, person_id: PersonId) -> dict[str, str]: ...


def own_words(source: Inbound | None) -> bool:
    """The message is the person's own words in a direct chat (nothing forwarded or quoted,
    not a group, not a turn Kith started)."""
    return (source is not None and message_origin(source) is Origin.PERSON
            and not source.is_group and source.scheduled is None)


class Offers:
    def __init__(self, store: Roles, clock: Callable[[], datetime],
                 bot_zone: Callable[[ConversationKey], str | None]) -> None:
        self.store = store
        self.clock = clock
        self.bot_zone = bot_zone  # conversation key -> the bot's default time zone

    async def _zone(self, person_id: PersonId,
                    conversation: ConversationKey) -> tuple[str, dict[str, str]]:
        prefs = await self.store.preferences(person_id)
        return resolve_zone(prefs.get("timezone"), self.bot_zone(conversation))[0], prefs

    # -- from the extraction ------------------------------------------------------------

    async def take(self, work: LearningWork, said: Sequence[Said],
                   commitments: Sequence[Commitment]) -> None:
        if work.is_group:
            return  # a group hears no one's private plans back
        person, now = work.key.person_id, self.clock()
        tz, prefs = await self._zone(person, work.key.conversation)
        for commitment in commitments:
            n = commitment.message
            if n is None or not 1 <= n <= len(said):
                continue  # no message to show it came from the person: no offer
            source = await self.store.offers.source(said[n - 1].inbound_id)
            if not own_words(source):
                log.info("offer_skipped", reason="not_own_words")
                continue
            assert source is not None
            await self._keep(person, commitment, source, tz, prefs, now)

    async def _keep(self, person: PersonId, commitment: Commitment, source: Inbound, tz: str,
                    prefs: dict[str, str], now: datetime) -> None:
        day, at = commitment.local
        kind = OfferKind(commitment.kind)
        offer = Offer(person, fingerprint(day, at, commitment.what), kind,
                      commitment.what, local_when(day, at, tz), at is not None,
                      source.conversation, source.id, "", OfferState.WAITING, now)
        if remind_at(offer, kind, tz) <= now:
            log.info("offer_skipped", reason="past")
            return
        if await self.store.offers.known(person, offer.fingerprint):
            return  # this commitment was offered (or dropped) before
        send = quiet_end(stored_quiet(prefs.get("quiet")), now, tz) or now
        item = await self._schedule(person, source, offer.what, tz, send, now)
        if not await self.store.offers.add(replace(offer, schedule_id=item.id)):
            await self.store.schedule.cancel(person, item.id)  # another run kept it first
            return
        log.info("offer_kept", kind=kind.value, quiet=send > now)

    async def _schedule(self, person: PersonId, origin: Inbound, what: str, tz: str,
                        send: datetime, now: datetime) -> Schedule:
        return await self.store.schedule.add(NewSchedule(
            person_id=person, kind=Kind.OFFER, origin=origin, text=what, timezone=tz,
            rule=None, due_at=send, anchor=send.astimezone(zone(tz)).replace(tzinfo=None),
        ), now)

    # -- when its turn is due -----------------------------------------------------------

    async def send(self, inbound: Inbound, person: PersonId, has_tool: Callable[[str], bool],
                   has_calendar: bool) -> str:
        """The offer's message (its action proposed), or "" when nothing is sent."""
        turn = inbound.scheduled
        assert turn is not None
        offer = await self.store.offers.by_schedule(turn.schedule_id)
        if offer is None or offer.person_id != person:
            return ""
        tz, prefs = await self._zone(person, offer.conversation)
        now = self.clock()
        if offer.state is OfferState.OFFERED and offer.action == inbound.id:
            return await self._again(offer, inbound, tz, now)  # this turn run again
        if offer.state is not OfferState.WAITING:
            return ""
        later = quiet_end(stored_quiet(prefs.get("quiet")), now, tz)
        if later is not None:  # quiet hours began after it was kept: wait for their end
            source = await self.store.offers.source(offer.source) or inbound
            item = await self._schedule(person, source, offer.what, tz, later, now)
            await self.store.offers.reschedule(offer, item.id)
            return ""
        kind = offer.kind
        if kind is OfferKind.EVENT and not (has_calendar and has_tool(TOOLS[kind])):
            kind = OfferKind.REMINDER  # no calendar: a reminder before it
        at = remind_at(offer, kind, tz)
        start, end = local_day_bounds(now.astimezone(zone(tz)).date(), tz)
        reason = drop_reason(
            at=at, now=now, declined=await self.store.offers.declined(person, kind),
            offered_today=await self.store.offers.offered_between(person, start, end),
            has_tool=has_tool(TOOLS[kind]))
        if reason is not None:
            await self.store.offers.settle(offer, OfferState.DROPPED, kind, now, "")
            log.info("offer_dropped", reason=reason, kind=kind.value)
            return ""
        await self.store.actions.record(Action(
            key=ActionKey(inbound.id, 0), person_id=person,
            conversation=inbound.conversation, tool=TOOLS[kind],
            args=json.dumps(_arguments(offer, kind, at, tz)), state=State.PROPOSED,
            summary=_summary(offer, kind, at, tz, now), reason="", created_at=now,
            expires_at=min(now + TTL, at)))
        await self.store.offers.settle(offer, OfferState.OFFERED, kind, now, inbound.id)
        log.info("offer_sent", kind=kind.value)
        return await self._text(offer, kind, at, tz, now)

    async def _again(self, offer: Offer, inbound: Inbound, tz: str, now: datetime) -> str:
        action = await self.store.actions.get(ActionKey(inbound.id, 0))
        if action is None or action.state is not State.PROPOSED:
            return ""
        return await self._text(offer, offer.kind, remind_at(offer, offer.kind, tz), tz, now)

    async def _text(self, offer: Offer, kind: OfferKind, at: datetime, tz: str,
                    now: datetime) -> str:
        source = await self.store.offers.source(offer.source)
        said = " ".join(source.text.split()) if source is not None else ""
        heard = (f"You said “{said[:120]}”." if said and len(said) <= 120
                 else f"You mentioned: {offer.what}.")
        day = offer.when.astimezone(zone(tz))
        when = (say_local(at, tz, now) if offer.timed or kind is OfferKind.REMINDER
                else f"{day:%A} {day.day} {day:%B}, all day")
        ask = (f"Shall I put it on your calendar: {offer.what}, {when}?"
               if kind is OfferKind.EVENT else f"Shall I remind you: {offer.what}, {when}?")
        return f"{heard} {ask} (yes or no)"


def _arguments(offer: Offer, kind: OfferKind, at: datetime, tz: str) -> dict[str, object]:
    """The tool's arguments, as a model call would give them (validated again on yes)."""
    local = at.astimezone(zone(tz))
    if kind is OfferKind.REMINDER:
        return {"text": offer.what, "date": f"{local:%Y-%m-%d}", "time": f"{local:%H:%M}",
                "zone": tz}
    start = offer.when.astimezone(zone(tz))
    return {"title": offer.what, "date": f"{start:%Y-%m-%d}",
            "time": f"{start:%H:%M}" if offer.timed else None, "zone": tz}


def _summary(offer: Offer, kind: OfferKind, at: datetime, tz: str, now: datetime) -> str:
    what = offer.what[:120]
    if kind is OfferKind.EVENT:
        return f"add to your calendar: {what}, {say_local(at, tz, now)}"
    return f"remind you: {what}, {say_local(at, tz, now)}"
