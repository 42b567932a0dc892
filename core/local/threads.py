"""How many threads llama.cpp gets by default: the physical cores this process may use.

Hyper-threads share one core's arithmetic units, and llama.cpp's threads wait for each
other at every layer, so a thread per logical CPU makes each token slower, the more so when
other programs want the CPU too. ``KITH_LLM__LOCAL_THREADS`` overrides it.
"""

from __future__ import annotations

import os
from pathlib import Path


def physical_cores(cpuinfo: str) -> int | None:
    """Distinct (physical id, core id) pairs in /proc/cpuinfo text (pure); None if absent."""
    cores: set[tuple[str, str]] = set()
    package = core = ""
    for line in [*cpuinfo.splitlines(), ""]:
        key, _, value = line.partition(":")
        key, value = key.strip(), value.strip()
        if key == "physical id":
            package = value
        elif key == "core id":
            core = value
        elif not key and core:
            cores.add((package, core))
            package = core = ""
    return len(cores) or None


def usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def default_threads(cpuinfo_path: Path = Path("/proc/cpuinfo")) -> int:
    usable = usable_cpus()
    try:
        physical = physical_cores(cpuinfo_path.read_text(errors="replace"))
    except OSError:
        physical = None
    if physical is None:  # no /proc (macOS, Windows): assume two threads per core
        physical = max(1, (os.cpu_count() or 1) // 2)
    return max(1, min(physical, usable))
