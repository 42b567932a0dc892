"""A person as a turn sees them, and pairing: an unknown sender gets a code the owner
approves with /approve CODE."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from core.calendar.links import Asking
from core.ids import PersonId
from core.memory.model import Memory


def new_pairing_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    return "".join(secrets.choice(alphabet) for _ in range(6))


@dataclass(frozen=True, slots=True)
class Person:
    """Who a sender is, and their explicit preferences (/prefs), read together. The Store's
    ``identify`` also reads the calendar password they were asked for (``/calendar
    connect``), if any: a turn's calendar linking step needs it for every private message."""

    id: PersonId
    preferences: dict[str, str]
    asking: Asking | None = None
    # their learned profile as the Store's identify reads it with them: the newest current
    # memories of core.memory.model.LEARNED_KINDS, newest first (None: not read)
    learned: tuple[Memory, ...] | None = None


@dataclass(frozen=True, slots=True)
class Pairing:
    channel: str
    platform_id: str
    display_name: str
    code: str
    approved: bool
    new: bool = False  # the code was created by this call
