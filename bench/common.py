"""Shared benchmark helpers: machine facts, percentiles, CPU/RSS sampling, table printing."""

from __future__ import annotations

import os
import platform
import resource
import statistics
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import psutil


def machine() -> str:
    cpu = "unknown cpu"
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as info:
            for line in info:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = psutil.virtual_memory().total / 2**30
    return (f"{platform.node()} · {os.cpu_count()} cores · {cpu} · {mem:.0f} GiB · "
            f"Python {platform.python_version()} · {platform.system()} {platform.release()}")


def percentile(values: Sequence[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[k]


@dataclass
class ProcessMeter:
    """CPU seconds and peak RSS of a process (default: this one) over a measured span."""

    pid: int = field(default_factory=os.getpid)

    def __post_init__(self) -> None:
        self.proc = psutil.Process(self.pid)
        self.peak_rss = 0
        self._cpu0 = 0.0
        self._t0 = 0.0

    def start(self) -> None:
        times = self.proc.cpu_times()
        self._cpu0 = times.user + times.system
        self._t0 = time.perf_counter()
        self.sample()

    def sample(self) -> None:
        self.peak_rss = max(self.peak_rss, self.proc.memory_info().rss)

    def stop(self) -> tuple[float, float]:
        """(cpu seconds, wall seconds) since start."""
        self.sample()
        times = self.proc.cpu_times()
        return times.user + times.system - self._cpu0, time.perf_counter() - self._t0


def self_peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def print_table(title: str, headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[str(h) for h in headers]] + [[_fmt(c) for c in row] for row in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    print(f"\n{title}")
    print("| " + " | ".join(c.ljust(w) for c, w in zip(cells[0], widths, strict=True)) + " |")
    print("|" + "|".join("-" * (w + 2) for w in widths) + "|")
    for row in cells[1:]:
        print("| " + " | ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)) + " |")


def _fmt(value: object) -> str:
    if isinstance(value, float):
        if value != value:  # NaN
            return "—"
        return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return str(value)


def mean(values: Sequence[float]) -> float:
    return statistics.fmean(values) if values else float("nan")
