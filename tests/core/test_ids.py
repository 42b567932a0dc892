"""Identities are typed: a bare string where a person, a message, a conversation or a message
Kith delivered is meant fails to type-check (mypy strict, as on core/), and the typed value
passes."""

from __future__ import annotations

from pathlib import Path

from tests.core.typecheck import strict_mypy

UNTYPED = '''
from core.coordination import TurnLeases
from core.memory.model import LearningQueue, LearningWork, MemoryStore

async def use(memories: MemoryStore, queue: LearningQueue, work: LearningWork,
              leases: TurnLeases) -> None:
    await memories.memories("4f1c")
    await queue.note(work, "telegram:kith:1:2", 0.0)
    await leases.acquire("kith/telegram/1")
'''

TYPED = '''
from core.coordination import TurnLeases
from core.ids import ConversationKey, InboundId, PersonId
from core.memory.model import LearningQueue, LearningWork, MemoryStore

async def use(memories: MemoryStore, queue: LearningQueue, work: LearningWork,
              leases: TurnLeases) -> None:
    await memories.memories(PersonId("4f1c"))
    await queue.note(work, InboundId("telegram:kith:1:2"), 0.0)
    await leases.acquire(ConversationKey("kith", "telegram", "1"))
'''


# the delivered side: ids the platform gave the messages Kith sent, from the adapter's
# surface through the reply and the outbound to the stored delivery state
DELIVERED_UNTYPED = '''
from adapters.kit.stream import Surface
from core.events import ConversationKey, Outbound
from core.ids import InboundId
from core.inbox.lifecycle import Delivered
from core.reply import Reply
from core.store.base import Delivery, DeliveryStore, InboxStatus

async def use(surface: Surface, reply: Reply, deliveries: DeliveryStore) -> None:
    await surface.edit("42", lambda: "hi")
    await reply.sent(["42"])
    reply.outbound(("42",))
    Outbound(ConversationKey("kith", "telegram", "1"), InboundId("t:1"), "hi",
             platform_ids=("42",))
    await deliveries.mark_delivered(InboundId("t:1"), ("42",))
    await deliveries.record_sent(InboundId("t:1"), ("42",))
    Delivery(InboxStatus.DELIVERED, platform_ids=("42",))
    Delivered(("42",), "ok")
'''

DELIVERED_TYPED = DELIVERED_UNTYPED.replace('"42"', 'PlatformMessageId("42")').replace(
    "from core.ids import InboundId", "from core.ids import InboundId, PlatformMessageId")


def test_a_bare_string_is_not_a_person_a_message_or_a_conversation(tmp_path: Path) -> None:
    out, status = strict_mypy(tmp_path, UNTYPED)
    assert status == 1, out
    assert 'has incompatible type "str"; expected "PersonId"' in out
    assert 'has incompatible type "str"; expected "InboundId"' in out
    assert 'has incompatible type "str"; expected "ConversationKey"' in out
    out, status = strict_mypy(tmp_path, TYPED)
    assert status == 0, out


def test_a_bare_string_is_not_a_message_kith_delivered(tmp_path: Path) -> None:
    out, status = strict_mypy(tmp_path, DELIVERED_UNTYPED)
    assert status == 1, out
    misuses = DELIVERED_UNTYPED.count('"42"')
    wrong = [line for line in out.splitlines() if "error:" in line]
    assert len(wrong) == misuses, out  # each bare string, and nothing else
    assert all("PlatformMessageId" in line for line in wrong), out
    out, status = strict_mypy(tmp_path, DELIVERED_TYPED)
    assert status == 0, out
