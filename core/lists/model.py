"""A list item as a value, and the pure rules both backends apply."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True, slots=True)
class ListItem:
    list: str
    item: str
    done: bool
    created_at: datetime


def new_items(have: Sequence[ListItem], items: Sequence[str]) -> list[str]:
    """``items`` not on the list yet (case aside), once each, in order."""
    known = {i.item.lower() for i in have}
    return [i for i in dict.fromkeys(x.strip() for x in items) if i and i.lower() not in known]


def matching(open_items: Sequence[ListItem], items: Sequence[str]) -> list[str]:
    """The open items ``items`` name; an item matches by its words ("milk": "oat milk")."""
    done: list[str] = []
    for wanted in (w.strip().lower() for w in items):
        for item in open_items:
            if wanted and item.item not in done and (
                    wanted == item.item.lower() or wanted in item.item.lower()):
                done.append(item.item)
    return done
