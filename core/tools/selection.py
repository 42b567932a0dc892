"""Which tools one request offers the model: the few a message needs, within a byte budget.

With the built-in tools, the web and an owner's MCP servers, the tool JSON alone would be
many kilobytes per request. When everything fits in :data:`BUDGET` bytes everything is
offered; otherwise the message is matched lexically against each tool's name and
description (plus a few words for Kith's own tools, which have terse descriptions), IDF-
weighted so a word many tools share counts little. Offered: the best matches and the two
tools this conversation used last, then as many others as fit, in registry order (Kith's
own first), so a message that names no tool still finds the common ones.

The prompt prefix stays cacheable: when the previous request's set already holds the best
matches it is offered again unchanged, so consecutive prompts of a conversation usually
carry byte-identical tool JSON; otherwise the new tools are appended and room is made by
dropping tools from the end, so the front of the list (and the prompt before it) stays.
A call to an allowed tool that was not offered (a model that writes the call as text)
still runs: the selection narrows the schemas, not the rights.

Embedding match is not used (lexical only).
"""

from __future__ import annotations

import math
import re
from collections import OrderedDict, deque
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from core.events import ConversationKey, Inbound
from core.provenance import Taint
from core.tools.base import Tool
from core.tools.registry import Registry, schema_bytes

BUDGET = 2800  # bytes of tool JSON per request: the defaults and the web tools all fit
TOP = 3  # the best matches a reused set must hold
RATIO = 0.34  # a match this far below the best one is not "wanted"
RECENT = 6  # tools a conversation used that stay in mind
CONVERSATIONS = 4096  # conversations whose selection state is kept (LRU)
_URL = re.compile(r"https?://\S+")
_WORD = re.compile(r"[^\W_]+")
_STOP_WORDS = """
a an the and or but if of to in on at for by with from into about as is are was were be
been am do does did doing have has had i me my mine you your it its this that these
those there here what which who whom when where how why can could would should will
shall may might must please pls just also too so then than now some any all every each
other one ones up down out off over under again more most very really want need like let
get got give tell show make set go going new it's i'm what's"""
_STOP = frozenset(_STOP_WORDS.split())
# Kith's own tools are described tersely (bytes in every prompt); these words are matched
# but never sent.
HINTS: dict[str, str] = {
    "create_reminder": "remind reminder wake alarm ping nudge alert later tonight before",
    "create_repeating_reminder": "remind reminder every daily weekly monthly each repeat",
    "list_reminders": "reminders remind upcoming scheduled",
    "cancel_reminder": "cancel stop delete remove reminder",
    "list_add": "add put buy need shopping grocery groceries item list",
    "list_show": "show shopping lists list items",
    "list_done": "bought tick done check got cross list",
    "remember": "remember keep mind note store fact know",
    "forget": "forget erase remove delete",
    "web_search": "search web look news latest current won price online internet find",
    "read_page": "read link page article url summarise summarize website",
    "agenda": "agenda calendar events appointments meeting schedule busy week today",
    "free_time": "free slot slots available time calendar hour busy when",
    "plan_week": "plan planning organise organize week schedule blocks block time focus",
}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 2 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def words(text: str) -> list[str]:
    return [_stem(w) for w in _WORD.findall(text.lower().replace("'", ""))
            if w not in _STOP and not w.isdigit()]


class Index:
    """Per-tool weighted words and their IDF over one registry (built once per registry)."""

    def __init__(self, tools: Iterable[Tool]) -> None:
        self.weights: dict[str, dict[str, float]] = {}
        for tool in tools:
            weights: dict[str, float] = {}
            for text, weight in ((tool.name.replace("_", " "), 2.0),
                                 (tool.description, 1.0), (HINTS.get(tool.name, ""), 1.5)):
                for word in words(text):
                    weights[word] = max(weights.get(word, 0.0), weight)
            self.weights[tool.name] = weights
        count = len(self.weights) or 1
        seen: dict[str, int] = {}
        for weights in self.weights.values():
            for word in weights:
                seen[word] = seen.get(word, 0) + 1
        self.idf = {word: math.log(1 + count / n) for word, n in seen.items()}

    def scores(self, text: str) -> dict[str, float]:
        asked = set(words(_URL.sub(" link ", text)))
        found = {name: sum(self.idf[w] * weights[w] for w in asked if w in weights)
                 for name, weights in self.weights.items()}
        if _URL.search(text) and "read_page" in found:
            found["read_page"] += 10.0
        return found


class Offered(Registry):
    """The allowed tools of a turn, of which ``names`` are offered; ``get`` finds any
    allowed tool and tells ``used`` it was called."""

    def __init__(self, allowed: Registry, names: Sequence[str],
                 used: Callable[[str], None]) -> None:
        self.tools = allowed.tools
        every = dict(zip(allowed.tools, allowed.schemas(), strict=True))
        self._schemas = {name: every[name] for name in names}
        self._used = used

    def get(self, name: str) -> Tool | None:
        tool = self.tools.get(name)
        if tool is not None:
            self._used(name)
        return tool


class Selecting(Registry):
    """A bot's tools for one turn: what the policy allows each model call (``for_turn``),
    narrowed by ``choose`` to what this request offers."""

    def __init__(self, every: Registry, choose: Callable[[Registry], Registry]) -> None:
        self.tools = every.tools
        self._every = every
        self._choose = choose

    def schemas(self) -> list[dict[str, Any]]:
        return self._every.schemas()

    def for_turn(self, inbound: Inbound, taint: Taint) -> Registry:
        return self._choose(self._every.for_turn(inbound, taint))


class Selector:
    """Chooses each request's tools; remembers, per conversation, what it offered and which
    tools were called (in memory, bounded: losing it costs a cache miss, nothing else)."""

    def __init__(self, budget: int = BUDGET) -> None:
        self.budget = budget
        self._indexes: dict[tuple[str, ...], tuple[Index, dict[str, int]]] = {}
        self._bytes: dict[tuple[str, ...], int] = {}  # each tool set's JSON size, once
        # per conversation: the tools it used lately, and the names offered last
        self._state: OrderedDict[ConversationKey,
                                 tuple[deque[str], tuple[str, ...]]] = OrderedDict()

    def _index(self, allowed: Registry) -> tuple[Index, dict[str, int]]:
        key = tuple(allowed.tools)
        if key not in self._indexes:
            if len(self._indexes) > 64:  # tool sets change (MCP servers): keep a few
                self._indexes.clear()
            sizes = {name: schema_bytes([schema]) + 1
                     for name, schema in zip(allowed.tools, allowed.schemas(), strict=True)}
            self._indexes[key] = (Index(allowed.tools.values()), sizes)
        return self._indexes[key]

    def _memory(self, conversation: ConversationKey) -> tuple[deque[str], tuple[str, ...]]:
        state = self._state.pop(conversation, None) or (deque(maxlen=RECENT), ())
        self._state[conversation] = state
        while len(self._state) > CONVERSATIONS:
            self._state.popitem(last=False)
        return state

    def selecting(self, every: Registry, conversation: ConversationKey, text: str) -> Selecting:
        """``every`` for a turn of ``conversation`` whose message is ``text``."""
        return Selecting(every, lambda allowed: self.offer(conversation, allowed, text))

    def _size(self, allowed: Registry) -> int:
        key = tuple(allowed.tools)
        size = self._bytes.get(key)
        if size is None:
            if len(self._bytes) > 64:
                self._bytes.clear()
            size = self._bytes[key] = schema_bytes(allowed.schemas())
        return size

    def offer(self, conversation: ConversationKey, allowed: Registry, text: str) -> Registry:
        if self._size(allowed) <= self.budget:
            return allowed
        recent, previous = self._memory(conversation)
        names = self.choose(allowed, text, list(reversed(recent)), previous)
        self._state[conversation] = (recent, names)

        def used(name: str) -> None:
            if name in recent:
                recent.remove(name)
            recent.append(name)

        return Offered(allowed, names, used)

    def choose(self, allowed: Registry, text: str, recent: Sequence[str],
               previous: Sequence[str]) -> tuple[str, ...]:
        """The offered names, in the order this conversation first got them."""
        index, sizes = self._index(allowed)
        scores = index.scores(text)
        ranked = sorted((n for n in allowed.tools if scores[n] > 0), key=lambda n: -scores[n])
        best = scores[ranked[0]] if ranked else 0.0
        wanted = [n for n in ranked if scores[n] >= best * RATIO]
        chosen = [n for n in previous if n in allowed.tools]
        if chosen and set(wanted[:TOP]) <= set(chosen):
            return tuple(chosen)  # the same tool JSON as last time: the prefix holds
        must = list(dict.fromkeys([*wanted[:TOP], *recent[:2]]))
        fill = list(allowed.tools)  # then Kith's own tools first, in registry order
        dropped: set[str] = set()
        for name in [*must, *wanted, *fill]:
            if name in chosen or name in dropped or name not in allowed.tools:
                continue
            while (1 + sum(sizes[n] for n in chosen) + sizes[name] > self.budget
                   and name in must and any(n not in must for n in chosen)):
                # make room at the end: the front of the list stays byte-identical
                out = next(n for n in reversed(chosen) if n not in must)
                chosen.remove(out)
                dropped.add(out)
            if 1 + sum(sizes[n] for n in chosen) + sizes[name] <= self.budget:
                chosen.append(name)
        return tuple(chosen)
