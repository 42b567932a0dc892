"""The guard looks only at the new end of an unfinished sentence, and still answers as if it
looked at all of it: for any reply cut into any deltas, what it releases (and when) is what
the whole-text check releases (the guard before it looked incrementally, kept here as the
oracle). Property test (hypothesis) over replies built from claims, tool names, recited
instructions, negations, punctuation, odd spacing and non-ASCII text."""

from __future__ import annotations

import itertools
import re

from hypothesis import example, given, settings
from hypothesis import strategies as st

from core.prompt import TOOL_GUIDANCE
from core.tools.guard import _CLAIM, NOTHING_RAN, Guard, _grams

INSTRUCTIONS = f"You are Kith, a personal assistant.\n{TOOL_GUIDANCE}\n{NOTHING_RAN}"
TOOLS = ["create_reminder", "add_to_list", "calendar.find", "web_search"]


class WholeText(Guard):
    """The check as it was: the whole unfinished sentence, at every delta."""

    def _suspect(self, seen: str) -> bool:
        return ((self._tools is not None and self._tools.search(seen) is not None)
                or (self.watch_claims and _CLAIM.search(seen) is not None)
                or any(g in self._known for g in _grams(seen)))


FRAGMENTS = [
    "I", "I've", "I’ve", "have", "just", "set", "added", "eggs", "milk", "to", "your", "the",
    "list", "reminder", "is", "now", "has", "been", "will", "remind", "you", "Done", "all",
    "this", "that", "it", "not", "never", "don't", "calendar", "on", "scheduled", "created",
    "create_reminder", "add_to_list", "calendar.find", "web_search", "Tool", "results",
    "are", "JSON", "shown_to_person", "true:", "person", "saw", "outcome;", "confirm",
    "briefly", "Claim", "an", "action", "only", "after", "its", "tool", "returned", "No",
    "ran", "for", "call", "now", "If", "cannot,", "say", "Kith,", "a", "personal",
    "assistant", "Sure!", "hello", "world", "—", "(x)", "'", "’", "?", "Σ", "İ", "K", "é",
    "12", "9:00", "a-b", "..", ",", "\u00a0", "\t",
    # signs spanning many tokens, and runs of tokens without a word in them
    "added the eggs and the milk to your", "I have just set", "reminder has been now set",
    "is now on your calendar", "Tool results are JSON", "the person saw the outcome",
    "— — — — — — — — — — — — — —", ", , , , , , , , , , , , ,",
]
SPACES = st.sampled_from([" "] * 12 + ["  ", "\t", "\u00a0", "", ". ", "! ", "\n"])


@st.composite
def replies(draw: st.DrawFn) -> tuple[str, list[int]]:
    words = draw(st.lists(st.sampled_from(FRAGMENTS), min_size=1, max_size=80))
    text = "".join(w + draw(SPACES) for w in words)
    cuts = sorted(set(draw(st.lists(st.integers(0, len(text)), max_size=40))))
    return text, cuts


def word_by_word(text: str) -> tuple[str, list[int]]:
    return text, [m.end() for m in re.finditer(r"\S+\s*", text)]


DASHES = "— " * 14


@settings(max_examples=600, deadline=None)
@given(replies(), st.booleans())
# a trigram whose words lie far apart (tokens without a word between them)
@example(word_by_word(f"hello person {DASHES}saw the outcome"), True)
# a claim at the very start, after a long run of tokens without a word
@example(word_by_word(f"{DASHES}all set"), True)
def test_what_is_released_is_what_the_whole_text_check_releases(
        reply: tuple[str, list[int]], watch: bool) -> None:
    text, cuts = reply
    fast = Guard(INSTRUCTIONS, watch_claims=watch, tools=TOOLS)
    whole = WholeText(INSTRUCTIONS, watch_claims=watch, tools=TOOLS)
    bounds = [0, *cuts, len(text)]
    for a, b in itertools.pairwise(bounds):
        assert fast.feed(text[a:b]) == whole.feed(text[a:b])
    assert fast.finish() == whole.finish()
    assert (fast.text, fast.held, fast.dropped) == (whole.text, whole.held, whole.dropped)
