"""The OfferStore role (``store.offers``) on every backend: one commitment is kept once,
an offer is settled once, declines are read from the offer's action, the day's count, the
source message as the inbox recorded it, and /forget all removes the person's offers."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from core.actions.model import Action, ActionKey, State
from core.events import Sender
from core.ids import ConversationKey, InboundId, PersonId
from core.offers.model import Offer, OfferKind, OfferState
from core.store.base import Store
from tests.contract.test_store_contract import inbound

NOW = datetime(2026, 12, 2, 9, 0, tzinfo=UTC)


def _offer(person: PersonId, fp: str, schedule_id: str = "r1") -> Offer:
    return Offer(person, fp, OfferKind.REMINDER, "Dentist", NOW + timedelta(days=2), True,
                 ConversationKey("kith", "test", "a"), InboundId("test:kith:a:1"), schedule_id,
                 OfferState.WAITING, NOW)


async def _decline(store: Store, person: PersonId, offer: Offer, n: int) -> None:
    key = ActionKey(InboundId(f"schedule:{offer.schedule_id}:{n}"), 0)
    await store.actions.record(Action(
        key=key, person_id=person, conversation=ConversationKey("kith", "test", "a"),
        tool="create_reminder",
        args="{}", state=State.DECLINED, summary="remind you", reason="", created_at=NOW,
        expires_at=NOW + timedelta(hours=24)))
    await store.offers.settle(offer, OfferState.OFFERED, OfferKind.REMINDER,
                              NOW + timedelta(minutes=n), key.inbound_id)


async def test_kept_once_settled_once_and_counted(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    first = _offer(ana, "2026-12-04T15:00")
    assert await store.offers.add(first)
    assert not await store.offers.add(replace(first, what="Dentist appointment"))
    assert await store.offers.known(ana, first.fingerprint)
    assert not await store.offers.known(PersonId("someone-else"), first.fingerprint)
    assert await store.offers.by_schedule("r1") == first
    await store.offers.reschedule(first, "r2")
    assert await store.offers.by_schedule("r1") is None
    moved = await store.offers.by_schedule("r2")
    assert moved == replace(first, schedule_id="r2")
    await _decline(store, ana, moved, 1)
    sent = await store.offers.by_schedule("r2")
    assert sent is not None and sent.state is OfferState.OFFERED
    assert sent.offered_at == NOW + timedelta(minutes=1)
    await store.offers.settle(sent, OfferState.DROPPED, OfferKind.EVENT, NOW, "")
    assert await store.offers.by_schedule("r2") == sent  # settled once: that stands
    assert await store.offers.declined(ana, OfferKind.REMINDER) == 1
    assert await store.offers.declined(ana, OfferKind.EVENT) == 0
    assert await store.offers.offered_between(ana, NOW, NOW + timedelta(hours=1)) == 1
    assert await store.offers.offered_between(ana, NOW + timedelta(hours=1),
                                              NOW + timedelta(hours=2)) == 0


async def test_the_source_message_and_forget_all(store: Store) -> None:
    ana = await store.person_for("test", Sender("ana", "Ana"))
    said = inbound(1)
    await store.record_inbound(said)
    assert await store.offers.source(said.id) == replace(said, raw=None)
    assert await store.offers.source(InboundId("test:nowhere:404")) is None
    assert await store.offers.add(_offer(ana, "one"))
    assert await store.offers.add(replace(_offer(ana, "two"), what="Call the plumber"))
    assert await store.offers.delete_matching(ana, "PLUMBER") == 1  # /forget plumber
    assert not await store.offers.known(ana, "two")
    assert await store.offers.delete_person(ana) == 1
    assert not await store.offers.known(ana, "one")


async def test_offers_and_actions_follow_a_linked_person(store: Store) -> None:
    """Linking two identities merges their people: the merged one's offers and actions
    become the other's. An offer both were made (the same fingerprint) stays the one the
    person merged into had; the other's copy goes, as a preference both set does."""
    ana = await store.person_for("test", Sender("ana", "Ana"))
    annie = await store.person_for("web", Sender("annie", "Ana"))  # Ana on another channel
    assert await store.offers.add(_offer(ana, "2026-12-04T15:00", "r-ana"))
    assert await store.offers.add(_offer(annie, "2026-12-04T15:00", "r-annie"))  # the same
    assert await store.offers.add(replace(_offer(annie, "plumber", "r-plumber"),
                                          what="Call the plumber"))
    proposed = await store.actions.record(Action(
        key=ActionKey(InboundId("web:kith:a:1"), 0), person_id=annie,
        conversation=ConversationKey("kith", "test", "a"), tool="create_reminder", args="{}",
        state=State.PROPOSED, summary="remind you", reason="", created_at=NOW,
        expires_at=NOW + timedelta(hours=24)))
    code = await store.memories.create_link_code(ana, NOW, 600)
    assert (await store.memories.redeem_link_code(code, annie, NOW)).person_id == ana
    kept = await store.offers.by_schedule("r-ana")
    assert kept is not None and kept.person_id == ana
    assert await store.offers.by_schedule("r-annie") is None  # the copy went
    moved = await store.offers.by_schedule("r-plumber")
    assert moved is not None and moved.person_id == ana
    assert await store.offers.known(ana, "plumber")
    assert not await store.offers.known(annie, "plumber")
    assert await store.actions.proposals("kith/test/a", ana) == [
        replace(proposed, person_id=ana)]
    assert await store.actions.proposals("kith/test/a", annie) == []
