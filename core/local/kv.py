"""The conversation's KV prefix stays warm in the embedded llama.cpp, whatever runs between.

llama-cpp-python keeps one KV cache and reuses the longest common token prefix with the
previous call; anything else run in between (memory extraction, another conversation)
overwrites it, and the person's next turn re-reads their whole prompt. Here the model keeps
the states it is about to overwrite in a small RAM cache (:class:`Prefixes`, least recently
used first out), keyed by their tokens, and before reading a prompt restores the saved state
that shares the longest prefix with it when that beats what is in the KV now.

States are copied with llama.cpp's own state calls (``llama_state_get_data`` /
``llama_state_set_data``), not ``Llama.save_state``, which also copies a logits buffer of
batch × vocabulary floats (≈ 300 MB for Qwen's 152k vocabulary: seconds per turn).

Background work also gives way *while its prompt is read*: its prompt is evaluated in small
chunks, and between two chunks (or sampled tokens) it stops when a person waits
(:class:`Yielded`); what it evaluated stays valid in the KV and is saved like any prefix.
"""

from __future__ import annotations

import ctypes
from collections import OrderedDict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from core.logging import get_logger

if TYPE_CHECKING:
    import numpy as np

log = get_logger("kith.local")

MIN_TOKENS = 64  # a shorter KV is not worth saving
CHUNK = 32  # background prompt tokens read between two looks at who waits


class Yielded(Exception):  # what happened, not an error
    """Background work stopped between two chunks because a person waits."""


def common_prefix(a: Sequence[int] | np.ndarray, b: Sequence[int] | np.ndarray) -> int:
    """How many leading tokens ``a`` and ``b`` share (pure)."""
    import numpy as np  # here: ``kith serve`` answers before numpy is imported (0.1 s)

    n = min(len(a), len(b))
    if n == 0:
        return 0
    differ = np.flatnonzero(np.asarray(a[:n]) != np.asarray(b[:n]))
    return int(differ[0]) if differ.size else n


@dataclass(frozen=True, slots=True)
class Saved:
    tokens: tuple[int, ...]
    data: Any  # a ctypes byte array holding llama.cpp's state
    size: int


class Prefixes:
    """Saved KV states keyed by their tokens, within a byte budget (least recently used out).

    A state whose tokens are a prefix of a newer one's is dropped: the newer serves every
    prompt it would, at least as far."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._states: OrderedDict[tuple[int, ...], Saved] = OrderedDict()

    def __len__(self) -> int:
        return len(self._states)

    @property
    def bytes(self) -> int:
        return sum(s.size for s in self._states.values())

    def put(self, saved: Saved) -> None:
        if saved.size > self.capacity:
            return
        n = len(saved.tokens)
        if any(len(k) >= n and k[:n] == saved.tokens for k in self._states):
            return  # a longer state already serves every prompt this one would
        for key in [k for k in self._states if len(k) <= n and saved.tokens[:len(k)] == k]:
            del self._states[key]
        self._states[saved.tokens] = saved
        while self.bytes > self.capacity:
            self._states.popitem(last=False)

    def best(self, tokens: Sequence[int]) -> tuple[Saved | None, int]:
        """The saved state sharing the longest prefix with ``tokens``, and that length."""
        found: Saved | None = None
        length = 0
        for saved in self._states.values():
            shared = common_prefix(saved.tokens, tokens)
            if shared > length:
                found, length = saved, shared
        if found is not None:
            self._states.move_to_end(found.tokens)
        return found, length

    def clear(self) -> None:
        self._states.clear()


def open_warm(path: str, *, n_ctx: int, threads: int, seed: int, capacity: int) -> Any:
    """A ``llama_cpp.Llama`` that keeps prefixes warm (see the module text).

    Set ``stop`` on it to a callable before background work (``None`` for a person): the
    prompt is then read in chunks and :class:`Yielded` raised between two when it says so."""
    import llama_cpp

    class WarmLlama(llama_cpp.Llama):
        def __init__(self, **kwargs: Any) -> None:
            super().__init__(**kwargs)
            self.prefixes = Prefixes(capacity)
            self.stop: Callable[[], bool] | None = None
            self.evaluated = 0  # prompt and sampled tokens decoded (prefix hits excluded)
            self.restored = 0  # saved states put back

        def generate(self, tokens: Sequence[int], *args: Any, **kwargs: Any) -> Any:
            self.warm(list(tokens))
            return super().generate(tokens, *args, **kwargs)

        def eval(self, tokens: Sequence[int]) -> None:
            stop = self.stop
            step = CHUNK if stop is not None else max(len(tokens), 1)
            for i in range(0, len(tokens), step):
                if stop is not None and stop():
                    raise Yielded
                part = tokens[i:i + step]
                super().eval(part)
                self.evaluated += len(part)

        def warm(self, tokens: list[int]) -> None:
            """Before reading ``tokens``: keep what would be overwritten, put back the best."""
            here = common_prefix(self.input_ids[:self.n_tokens], tokens)
            if self.n_tokens >= MIN_TOKENS and self.n_tokens - here > CHUNK:
                self.prefixes.put(self.save())
            saved, there = self.prefixes.best(tokens)
            restored = saved is not None and there > here + CHUNK
            if saved is not None and restored:
                self.restore(saved)
            log.info("local_prefix", prompt=len(tokens), reused=there if restored else here,
                     restored=restored, saved=len(self.prefixes))

        def save(self) -> Saved:
            ctx = self._ctx.ctx
            size = int(llama_cpp.llama_state_get_size(ctx))
            data = (ctypes.c_uint8 * size)()
            used = int(llama_cpp.llama_state_get_data(ctx, data, size))
            return Saved(tuple(int(t) for t in self.input_ids[:self.n_tokens]), data, used)

        def restore(self, saved: Saved) -> None:
            if llama_cpp.llama_state_set_data(self._ctx.ctx, saved.data, saved.size) \
                    != saved.size:
                raise RuntimeError("llama.cpp refused a saved state")
            n = len(saved.tokens)
            self.input_ids[:n] = saved.tokens
            self.n_tokens = n
            self._requires_eval = True  # logits come from the next decode, not the state
            self.restored += 1

    return WarmLlama(model_path=path, n_ctx=n_ctx, n_threads=threads, n_threads_batch=threads,
                     seed=seed, verbose=False)
