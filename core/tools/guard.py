"""What a model says is checked sentence by sentence before a person sees it (pure).

Two things a small model does that no template token gives away:

- **It recites its own instructions.** SmolLM2-135M answers with Kith's system prompt, the
  tool guidance included ("Tool results are JSON. \"shown_to_person\": true: …"). A sentence
  whose word trigrams are mostly the instructions' own (the persona and the tool guidance,
  never the person's profile or summary) is dropped.
- **It says it did something no tool did.** While no tool has run in this turn, a sentence
  claiming an action ("I've added eggs to your list", "Reminder set for 9") is held back, with
  everything after it: the tool loop then asks the model once more, and if it still does not
  call a tool, the person is told plainly that nothing was changed (:data:`NOT_DONE`). A
  sentence naming a tool ("you can use the `create_reminder` function", Qwen) is held alike,
  and dropped once a tool has run.

Text is released a whole sentence at a time, so a reply still streams.
"""

from __future__ import annotations

import re
from collections.abc import Collection

_WORD = re.compile(r"[a-z0-9]+")
_END = re.compile(r"[.!?](?=\s)|\n")
RECITED_SHARE = 0.6  # of a sentence's word trigrams found in the instructions
PARAPHRASED = (3, 0.5)  # or at least this many of them, and this share (a word changed)
MIN_GRAMS = 2  # a sentence of fewer than four words is never taken for a recital

NOTHING_RAN = (
    "No tool ran for the person's last message, so nothing has been done yet. To do what "
    "they asked, call the tool now. If you cannot, say that it has not been done."
)
NOT_DONE = ("Nothing was changed: I could not do that this time. Could you ask me again, "
            "perhaps in other words?")

# An action stated as done (or about to be, by Kith) — not a question, not a negation.
_CLAIM = re.compile(
    r"\bi(?:'ve|’ve|\s+have)?\s+(?:just\s+|now\s+|also\s+)?(?:set|added|created|scheduled|"
    r"saved|put|ticked|marked|removed|deleted|updated|cancell?ed|booked)\b"
    r"|\b(?:has|have)\s+been\s+(?:set|added|created|scheduled|saved|removed|ticked|"
    r"marked|updated)\b"
    r"|\breminder\s+(?:is\s+|has\s+been\s+)?(?:now\s+)?set\b"
    r"|\b(?:is|are)\s+(?:now\s+)?(?:set|added|scheduled|saved|on\s+your\s+(?:list|calendar))\b"
    r"|\bi(?:'ll|’ll|\s+will)\s+(?:remind|add|set)\b"
    r"|\badded\s+(?:[\w'’\"]+\s+){0,5}to\s+(?:your|the)\b"
    r"|\b(?:list|reminder|item|event)s?\s+(?:added|set|created|scheduled|updated)\b"
    r"|\b(?:this|that|it)\s+will\s+(?:add|set|create|schedule|remind)\b"
    r"|^\W*(?:done|all\s+set|added)\b",
    re.IGNORECASE,
)
_NEGATED = re.compile(r"\b(?:not|n't|n’t|cannot|never|unable)\b|\?\s*$", re.IGNORECASE)


def _grams(text: str) -> list[tuple[str, str, str]]:
    words = _WORD.findall(text.lower().replace("'", "").replace("’", ""))
    return list(zip(words, words[1:], words[2:], strict=False))


def claims_action(sentence: str) -> bool:
    return bool(_CLAIM.search(sentence)) and not _NEGATED.search(sentence)


class Guard:
    """Sentences in, the ones a person may see out; see the module text."""

    def __init__(self, instructions: str, *, watch_claims: bool,
                 tools: Collection[str] = ()) -> None:
        self._known = set(_grams(instructions))
        # a reply that tells the person how to call a tool ("you can use the
        # `create_reminder` function") instead of calling it is held like a claim
        named = [t for t in tools if "_" in t or "." in t]  # never an ordinary word
        self._tools = re.compile(r"\b(?:" + "|".join(map(re.escape, named)) + r")\b") \
            if named else None
        self.watch_claims = watch_claims
        self._pending = ""
        self.held = ""  # from the first claimed action on: not shown (yet)
        self.passed: list[str] = []
        self.dropped = 0  # recited sentences

    def recites(self, sentence: str) -> bool:
        grams = _grams(sentence)
        if len(grams) < MIN_GRAMS or not self._known:
            return False
        found = sum(g in self._known for g in grams)
        least, share = PARAPHRASED
        return found >= RECITED_SHARE * len(grams) or (found >= least
                                                       and found >= share * len(grams))

    def _pass(self, sentence: str) -> str:
        if self.held:
            self.held += sentence
            return ""
        if self.recites(sentence):
            self.dropped += 1
            return "\n" if sentence.endswith("\n") and self.passed else ""
        names = self._tools is not None and self._tools.search(sentence) is not None
        if self.watch_claims and (names or claims_action(sentence)):
            self.held = sentence
            return ""
        if names:  # after a tool ran: how to call one is nothing the person can use
            self.dropped += 1
            return ""
        self.passed.append(sentence)
        return sentence

    def feed(self, text: str) -> str:
        """The whole sentences of ``text`` (with what came before) that may be shown."""
        self._pending += text
        out = []
        while (end := _END.search(self._pending)) is not None:
            sentence, self._pending = (self._pending[:end.end()],
                                       self._pending[end.end():])
            out.append(self._pass(sentence))
        return "".join(out)

    def finish(self) -> str:
        rest, self._pending = self._pending, ""
        return self._pass(rest) if rest else ""

    @property
    def text(self) -> str:
        return "".join(self.passed)
