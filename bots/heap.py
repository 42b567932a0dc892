"""The serving process's heap: what start-up built is frozen out of the garbage collector.

Everything ``kith serve`` loads before its first message (modules, the SDKs, settings,
the fleet: 160,000 objects) lives as long as the process. Left in the collector's oldest
generation, each full collection walks all of it again: 77 ms of CPU a time, 14 % of
Kith's CPU under load (``bench.foundation``, 100 conversations). :func:`settle` moves
them to the permanent generation (``gc.freeze``, as CPython's documentation advises for
long-running servers) once start-up is over; what a turn allocates is collected as before.
"""

from __future__ import annotations

import gc
import importlib


def settle(*modules: str) -> None:
    """Import ``modules`` (the ones loaded lazily, beside the running gateway), then freeze
    what exists now."""
    for name in modules:
        importlib.import_module(name)
    gc.collect()  # what start-up left as garbage is freed, not frozen
    gc.freeze()
