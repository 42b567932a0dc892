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

A sentence is released word by word, four words behind, while nothing in it so far looks like a
claim, a tool's name or the instructions' own words; from the first such sign it waits for its
end and is judged whole. So a reply still streams; what arrived before a stream is cut is still
judged.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection

_WORD = re.compile(r"[a-z0-9]+")
_END = re.compile(r"[.!?](?=\s)|\n")
RECITED_SHARE = 0.6  # of a sentence's word trigrams found in the instructions
PARAPHRASED = (3, 0.5)  # or at least this many of them, and this share (a word changed)
MIN_GRAMS = 2  # a sentence of fewer than four words is never taken for a recital
LAG = 4  # words of an unfinished sentence kept back as look-ahead

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


_TOKEN = re.compile(r"\S+")
# whole tokens looked back at: a claim spans at most 8 (``added`` … 5 … ``to your``), so
# one reaching past what is whole begins in its last 7; a tool's name lies in one token
SPAN = 8


def _grams(text: str) -> list[tuple[str, str, str]]:
    words = _WORD.findall(text.lower().replace("'", "").replace("’", ""))
    return list(zip(words, words[1:], words[2:], strict=False))


def claims_action(sentence: str) -> bool:
    return bool(_CLAIM.search(sentence)) and not _NEGATED.search(sentence)


@functools.lru_cache(maxsize=64)
def _known_grams(instructions: str) -> frozenset[tuple[str, str, str]]:
    """The instructions' trigrams (the same few instructions for every model call)."""
    return frozenset(_grams(instructions))


@functools.lru_cache(maxsize=64)
def _tool_names(tools: tuple[str, ...]) -> re.Pattern[str] | None:
    """A reply that tells the person how to call a tool ("you can use the
    `create_reminder` function") instead of calling it is held like a claim."""
    named = [t for t in tools if "_" in t or "." in t]  # never an ordinary word
    return re.compile(r"\b(?:" + "|".join(map(re.escape, named)) + r")\b") if named else None


class _Scan:
    """The unfinished sentence's text before ``clean`` (which follows whitespace) holds no
    sign; ``starts`` are its tokens' starts, ``words`` those of the tokens with a word."""

    __slots__ = ("clean", "starts", "sticky", "words")

    def __init__(self) -> None:
        self.clean = 0
        self.starts: list[int] = []
        self.words: list[int] = []
        self.sticky = False  # a sign in what is whole already

    def window(self) -> int:
        """Where a sign that reaches past ``clean`` may begin at the earliest: a claim or a
        tool's name within :data:`SPAN` tokens, a trigram two words back; a claim that
        must begin the sentence (``^\\W*done``) has no word before its own, so it begins
        where the window is still 0."""
        far = self.starts[-SPAN] if len(self.starts) >= SPAN else 0
        return min(far, self.words[-2] if len(self.words) >= 2 else 0)

    def advance(self, seen: str, clean: int) -> None:
        for token in _TOKEN.finditer(seen, self.clean, clean):
            self.starts.append(token.start())
            if _WORD.search(token.group().lower().replace("'", "").replace("’", "")):
                self.words.append(token.start())
        self.clean = clean


class Guard:
    """Sentences in, the ones a person may see out; see the module text."""

    def __init__(self, instructions: str, *, watch_claims: bool,
                 tools: Collection[str] = ()) -> None:
        self._known = _known_grams(instructions)
        self._tools = _tool_names(tuple(tools))
        self.watch_claims = watch_claims
        self._pending = ""
        self._early = ""  # the current sentence's words already released
        self.held = ""  # from the first claimed action on: not shown (yet)
        self.passed: list[str] = []
        self.dropped = 0  # recited sentences
        self._scan = _Scan()  # how far the unfinished sentence is known clean

    def recites(self, sentence: str) -> bool:
        grams = _grams(sentence)
        if len(grams) < MIN_GRAMS or not self._known:
            return False
        found = sum(g in self._known for g in grams)
        least, share = PARAPHRASED
        return found >= RECITED_SHARE * len(grams) or (found >= least
                                                       and found >= share * len(grams))

    def _pass(self, sentence: str) -> str:
        """Judge the sentence whole (with its words already released); returns what of the
        rest may be shown."""
        whole, self._early = self._early + sentence, ""
        self._scan = _Scan()
        if self.held:
            self.held += sentence
            return ""
        if self.recites(whole):
            self.dropped += 1
            return "\n" if sentence.endswith("\n") and self.passed else ""
        names = self._tools is not None and self._tools.search(whole) is not None
        if self.watch_claims and (names or claims_action(whole)):
            self.held = sentence
            return ""
        if names:  # after a tool ran: how to call one is nothing the person can use
            self.dropped += 1
            return ""
        self.passed.append(sentence)
        return sentence

    def _release_early(self) -> str:
        """The unfinished sentence but its last :data:`LAG` words, while nothing in it so far
        is suspect (the words held back are the look-ahead a claim or recital shows in)."""
        if self.held or self._suspect(self._early + self._pending):
            return ""  # judged whole at its end
        spaces = [m.end() for m in re.finditer(r"\s+", self._pending)]
        if len(spaces) <= LAG:
            return ""
        cut = spaces[-LAG - 1]
        piece = self._pending[:cut]
        self._pending = self._pending[cut:]
        self._early += piece
        self.passed.append(piece)
        return piece

    def _signs(self, text: str, start: int) -> bool:
        """A claim, a tool's name or an instructions' trigram in ``text`` from ``start`` on."""
        return ((self._tools is not None and self._tools.search(text, start) is not None)
                or (self.watch_claims and _CLAIM.search(text, start) is not None)
                or any(g in self._known for g in _grams(text[start:])))

    def _suspect(self, seen: str) -> bool:
        """Whether the unfinished sentence ``seen`` shows a sign so far: the same answer as
        looking at all of it, for a fraction of the work (a reply streamed a token at a
        time looked at each sentence again for each token). Every sign is a match ending
        on a word character, so one inside a prefix that ends in whitespace is one in any
        longer text, and a prefix found clean needs no second look but at its last tokens,
        where a sign reaching past it may begin (a claim spans at most 8 tokens, a trigram
        3 words): :class:`_Scan` keeps where those begin."""
        scan = self._scan
        if scan.sticky:
            return True
        start = scan.window()
        found = self._signs(seen, start)
        tail = list(_TOKEN.finditer(seen, scan.clean))  # what came since: a few tokens
        # the end of what is whole: before a token still growing, else all of it
        stable = tail[-1].start() if tail and tail[-1].end() == len(seen) else len(seen)
        if stable > scan.clean:
            if found and self._signs(seen[:stable], start):
                scan.sticky = True  # in what is whole already: so in all that follows
            else:
                scan.advance(seen, stable)
        return found

    def feed(self, text: str) -> str:
        """The whole sentences of ``text`` (with what came before) that may be shown."""
        self._pending += text
        out = []
        while (end := _END.search(self._pending)) is not None:
            sentence, self._pending = (self._pending[:end.end()],
                                       self._pending[end.end():])
            out.append(self._pass(sentence))
        out.append(self._release_early())
        return "".join(out)

    def finish(self) -> str:
        rest, self._pending = self._pending, ""
        return self._pass(rest) if rest else ""

    @property
    def text(self) -> str:
        return "".join(self.passed)
