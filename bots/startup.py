"""What a Kith process imports first (``bots/__init__.py``): two libraries without the
optional add-ons they import whenever those happen to be installed, none of which Kith uses.

- structlog imports rich (and pygments) for its pretty tracebacks and its Twisted bridge
  (Twisted comes with the test servers). Kith renders an exception itself, as plain text,
  before the secrets are redacted (``core.logging``), so neither is ever called.
- httpx imports its command-line client (rich and pygments) for the ``httpx`` command.

Together about 0.1 s of CPU before ``/healthz`` answers (``python -m bench.startup``). The
add-ons stay importable afterwards: ``kith chat`` draws with rich.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

UNUSED = ("rich", "pygments", "twisted")


@contextmanager
def hidden(names: Iterable[str]) -> Iterator[None]:
    """Within: importing one of ``names`` (not imported yet) fails as if it were not
    installed — ``sys.modules[name] = None`` (the import system's own way to say so)."""
    hide = [name for name in names if name not in sys.modules]
    for name in hide:
        sys.modules[name] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        for name in hide:
            if sys.modules.get(name, False) is None:
                del sys.modules[name]


def lean_imports() -> None:
    """Import httpx and structlog without their unused add-ons (a no-op once imported)."""
    with hidden(UNUSED):
        for library in ("httpx", "structlog"):
            importlib.import_module(library)
