"""Identities are typed: a bare string where a person, a message or a conversation is meant
fails to type-check (mypy strict, as on core/), and the typed value passes."""

from __future__ import annotations

import os
from pathlib import Path

from mypy import api as mypy_api

ROOT = Path(__file__).resolve().parents[2]

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


def _mypy(tmp_path: Path, source: str) -> tuple[str, int]:
    path = tmp_path / "caller.py"
    path.write_text(source)
    cwd = os.getcwd()
    os.chdir(ROOT)  # core/ resolves from the repository
    try:
        out, _err, status = mypy_api.run(["--strict", "--follow-imports=silent",
                                          "--no-incremental", str(path)])
    finally:
        os.chdir(cwd)
    return out, status


def test_a_bare_string_is_not_a_person_a_message_or_a_conversation(tmp_path: Path) -> None:
    out, status = _mypy(tmp_path, UNTYPED)
    assert status == 1, out
    assert 'has incompatible type "str"; expected "PersonId"' in out
    assert 'has incompatible type "str"; expected "InboundId"' in out
    assert 'has incompatible type "str"; expected "ConversationKey"' in out
    out, status = _mypy(tmp_path, TYPED)
    assert status == 0, out
