"""Keep text-emitted tool calls out of what the person sees while the reply streams.

Text streams through until something that may start a call or template markup appears: a
reply opening with ``{`` or ``[`` or ``known_tool(``, or a ``<|python_tag|>``,
``<function=``, ``<tool_call>``, ``[TOOL_CALLS]``, any ``<|…|>`` token or a code fence
anywhere (the openings of :data:`core.tools.markup.OPENINGS`), also when split across
deltas. From there on the text is held back; at the end it is parsed, and only what is
neither a call nor markup is released.
"""

from __future__ import annotations

import re
from collections.abc import Collection

from core.tools.markup import OPENINGS
from core.tools.textcalls import PYTHON_START, PYTHON_TAG, TextCall, extract_calls

TRIGGERS = (PYTHON_TAG, PYTHON_START, "<function=", "```", *OPENINGS)
_IDENT = re.compile(r"[A-Za-z_][\w.]*")
_FIRSTS = frozenset(t[0] for t in TRIGGERS)  # a partial trigger begins with one of these
_LONGEST = max(len(t) for t in TRIGGERS) - 1  # the longest partial trigger
# every beginning of a trigger short of the whole ('s', 'sh', …, 'shown_to_perso'):
# 's' begins one, so nearly every delta is looked at
_PARTIALS = frozenset(t[:size] for t in TRIGGERS for size in range(1, len(t)))


class CallFilter:
    def __init__(self, known: Collection[str]) -> None:
        self.known = known
        self.shown: list[str] = []
        self._pending = ""  # not yet decided: might start a trigger
        self._held: str | None = None  # a possible call, held back to the end

    def _opening(self, text: str) -> bool | None:
        """At the very start: True = hold all, False = not a call opening, None = undecided."""
        head = text.lstrip()
        if not head:
            return None
        if head[0] in "{[":
            return True
        match = _IDENT.match(head)
        if match is None:
            return False
        if match.end() == len(head):
            return None if any(n.startswith(head) for n in self.known) else False
        return head[match.end()] == "(" and match.group(0).split(".")[0] in self.known

    def feed(self, piece: str) -> str:
        """Text that may be shown now."""
        if self._held is not None:
            self._held += piece
            return ""
        text = self._pending + piece
        self._pending = ""
        if not self.shown:
            opening = self._opening(text)
            if opening is None:
                self._pending = text
                return ""
            if opening:
                self._held = text
                return ""
        cut = -1 if _FIRSTS.isdisjoint(text) else min(
            (i for i in (text.find(t) for t in TRIGGERS) if i >= 0), default=-1)
        if cut >= 0:
            self._held = text[cut:]
            text = text[:cut]
        else:
            keep = _partial_suffix(text)
            if keep:
                self._pending, text = text[-keep:], text[:-keep]
        if text:
            self.shown.append(text)
        return text

    def finish(self) -> tuple[str, list[TextCall]]:
        """(the rest of the text to show, the calls found in what was held back)."""
        held = (self._held or "") + self._pending
        self._held, self._pending = None, ""
        if not held:
            return "", []
        rest, calls = extract_calls(held, self.known)
        if rest:
            self.shown.append(rest)
        return rest, calls

    @property
    def text(self) -> str:
        return "".join(self.shown)


def _partial_suffix(text: str) -> int:
    """Length of the longest end of ``text`` that could begin a trigger."""
    tail = text[-_LONGEST:]
    if _FIRSTS.isdisjoint(tail):  # most deltas: no trigger can begin in the end
        return 0
    for i, char in enumerate(tail):  # the longest end first
        if char in _FIRSTS and tail[i:] in _PARTIALS:
            return len(tail) - i
    return 0
