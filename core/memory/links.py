"""One person, many identities: one-time linking codes, merge, split, and the export.
This module holds the rules both backends apply (``sqlite_links``, ``postgres_links``).

``/link`` gives person A a code (single use, expires in minutes). The same human sends it
from another identity (person B); B is merged into A: identities, preferences (A's win),
memories, messages. A code is refused when wrong, expired, used, sent by A itself, or when
B already has an identity on a channel where A has one (that is another person, not A's
other account). ``/unlink`` splits one identity off again, with the memories learned from it.
"""

from __future__ import annotations

import secrets
from datetime import datetime

from core.ids import PersonId
from core.memory.model import LinkRefusal

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(8))


def refusal(row: tuple[object, ...] | None, person_id: PersonId,
            now: datetime) -> LinkRefusal | None:
    """Why a link code row (issuer, expires_at, used_at) cannot be redeemed by ``person_id``
    now, or None (every backend asks this before it merges)."""
    if row is None:
        return LinkRefusal.UNKNOWN
    issuer, expires, used = row
    if used is not None:
        return LinkRefusal.USED
    if float(expires) <= now.timestamp():  # type: ignore[arg-type]
        return LinkRefusal.EXPIRED
    if str(issuer) == person_id:
        return LinkRefusal.SAME_PERSON
    return None
