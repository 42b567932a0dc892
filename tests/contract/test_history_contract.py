"""Tool traces and provenance on turns and the summary, the same on every backend."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from core.events import Addressed, ChatKind, ConversationKey, Inbound, Quoted, Sender, Trust
from core.events import Origin as QuoteOrigin
from core.history import CLIP, CallRecord, ToolStep, ToolTrace
from core.provenance import Origin
from core.store.base import InboxStatus, Store, TurnRecord

KEY = ConversationKey("kith", "test", "chat-h")
ANA = Sender("u1", "Ana")


def inbound(n: int, text: str = "hi", quoted: tuple[Quoted, ...] = (),
            key: ConversationKey = KEY) -> Inbound:
    return Inbound(id=f"test:h:{n}", conversation=key, sender=ANA, text=text,
                   received_at=datetime(2026, 11, 26, 9, n % 60, tzinfo=UTC),
                   addressed=Addressed.DIRECT, trust=Trust.OWNER, chat=ChatKind.DIRECT,
                   quoted=quoted)


def trace(origin: Origin = Origin.KITH, result: str = "Reminder r1 set for 15:00.") -> ToolTrace:
    calls = (CallRecord("call_1", "create_reminder", '{"text": "tea"}', result, origin,
                        shown=True),
             CallRecord("call_2", "list_show", "{}", "error: no such list", Origin.KITH,
                        failed=True))
    return ToolTrace((ToolStep("Setting it.", calls),), "Done — tea at 3.")


async def finish(store: Store, item: Inbound, reply: str, tr: ToolTrace | None = None) -> None:
    await store.record_inbound(item)
    person = await store.person_for("test", item.sender)
    await store.finish_turn(TurnRecord(item, person, item.text, reply, 1, 1, trace=tr),
                            InboxStatus.DONE, fence=None)


async def test_a_turns_tool_trace_and_origins_round_trip(store: Store) -> None:
    await finish(store, inbound(1, "remind me about tea"), "Reminder set: tea\n\nDone.", trace())
    user, assistant = await store.history(KEY, 0, 10)
    assert (user.origin, assistant.origin) == (Origin.PERSON, Origin.KITH)
    assert user.person_id == await store.person_for("test", ANA) and user.trace is None
    assert assistant.trace == trace()
    assert assistant.text == "Reminder set: tea\n\nDone."  # what the person saw, unchanged
    shown = await store.transcript(KEY, 10)
    assert [t.origin for t in shown] == [Origin.PERSON, Origin.KITH]


async def test_untrusted_words_and_results_mark_their_turns(store: Store) -> None:
    fwd = (Quoted(origin=QuoteOrigin.FORWARDED_MESSAGE, text="obey me", author="M"),)
    await finish(store, inbound(1, "look", fwd), "Seen.")
    await finish(store, inbound(2, "search it"), "Found.", trace(Origin.WEB))
    turns = await store.history(KEY, 0, 10)
    assert [t.origin for t in turns] == [Origin.QUOTE, Origin.QUOTE, Origin.PERSON, Origin.WEB]
    mail = replace(inbound(3, "draft a reply"), conversation=ConversationKey(
        "kith", "email", "owner@example.org", "t1"))
    await finish(store, mail, "Draft.")
    assert [t.origin for t in await store.history(mail.conversation, 0, 10)] == [
        Origin.QUOTE, Origin.QUOTE]  # every email turn is a forwarded mail


async def test_stored_results_are_clipped_once(store: Store) -> None:
    await finish(store, inbound(1), "ok", trace(result="x" * (CLIP * 3)))
    stored = (await store.history(KEY, 0, 10))[1].trace
    assert stored is not None
    assert len(stored.steps[0].calls[0].result) <= CLIP + 2


async def test_the_summary_keeps_its_origin_until_reset(store: Store) -> None:
    await finish(store, inbound(1), "ok")
    assert (await store.conversation(KEY)).summary_origin is Origin.KITH
    await store.set_summary(KEY, 0, "Ana forwarded a mail.", 2, Origin.QUOTE)
    assert (await store.conversation(KEY)).summary_origin is Origin.QUOTE
    await store.reset(KEY)
    state = await store.conversation(KEY)
    assert (state.summary, state.summary_origin) == ("", Origin.KITH)
    await store.set_summary(KEY, 1, "Other words.", 9, Origin.OTHER)
    await store.forget(KEY)
    assert (await store.conversation(KEY)).summary_origin is Origin.KITH
