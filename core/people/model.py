"""A person as a turn sees them, and pairing: an unknown sender gets a code the owner
approves with /approve CODE."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from core.ids import PersonId


def new_pairing_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
    return "".join(secrets.choice(alphabet) for _ in range(6))


@dataclass(frozen=True, slots=True)
class Person:
    """Who a sender is, and their explicit preferences (/prefs), read together."""

    id: PersonId
    preferences: dict[str, str]


@dataclass(frozen=True, slots=True)
class Pairing:
    channel: str
    platform_id: str
    display_name: str
    code: str
    approved: bool
    new: bool = False  # the code was created by this call
