"""Who a memory is for: the person alone, the person and the groups they are in, or one group.

A typed value in Kith; the stores keep their column as text (``private``, ``shared``,
``group:<conversation>``), written by :func:`encode_scope` and read by
:func:`decode_scope` at the storage boundary only.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from core.ids import ConversationKey

GROUP_PREFIX = "group:"  # the stored form of a group scope: "group:<conversation key>"


class Personal(StrEnum):
    """The person's own memory: private to them, or shared with the groups they are in."""

    PRIVATE = "private"
    SHARED = "shared"


@dataclass(frozen=True, slots=True)
class Group:
    """A memory that belongs to one group conversation: recalled there and nowhere else."""

    conversation: ConversationKey


MemoryScope = Personal | Group
PRIVATE = Personal.PRIVATE
SHARED = Personal.SHARED


def scope_name(scope: MemoryScope) -> str:
    """``private``, ``shared`` or ``group``: what a person is shown."""
    return "group" if isinstance(scope, Group) else scope.value


def encode_scope(scope: MemoryScope) -> str:
    if isinstance(scope, Group):
        return GROUP_PREFIX + str(scope.conversation)
    return scope.value


def decode_scope(text: str) -> MemoryScope:
    if text.startswith(GROUP_PREFIX):
        return Group(ConversationKey.parse(text.removeprefix(GROUP_PREFIX)))
    return Personal(text)
