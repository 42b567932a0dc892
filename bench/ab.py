"""Kith's CPU per message, two versions side by side in one run.

    python -m bench.ab --base /work/wt/base [--rounds 3] [--only foundation|burst]

``kith serve`` runs once from ``--base`` (another checkout: a worktree of the base commit)
and once from this tree, alternately (A B, B A, A B, …), under the same load generator and
fakes (this tree's). Two runs per round:

* *foundation*: ``bench.foundation.run("instant", 0, 0, 100, 10)``: web chat, 100
  conversations, an instant fake model, 10 s;
* *burst*: ``bench.telegram.measure_burst()``: 2,000 Telegram messages from 200 chats at
  once, default limits, a 300 ms + 30 ms/token model.

Each row is one run with the load average (1 min) when it started; the summary is the median
of the rounds. Only the ``kith serve`` process's CPU counts.
"""

from __future__ import annotations

import argparse
import os
import statistics
from collections.abc import Callable
from pathlib import Path

from bench import foundation, telegram
from bench.common import machine, print_table
from bench.harness import REPO


def _foundation() -> tuple[float, int]:
    r = foundation.run("instant", 0, 0, 100, 10.0)
    return r.cpu / max(r.messages, 1) * 1000, r.messages


def _burst(per_chat: int) -> Callable[[], tuple[float, int]]:
    def run() -> tuple[float, int]:
        r = telegram.measure_burst(per_chat=per_chat)
        if r.missing:
            raise RuntimeError(f"the burst lost {r.missing} replies")
        return r.cpu / max(r.replies, 1) * 1000, r.replies
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base", required=True, type=Path, help="the other checkout (A)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=["foundation", "burst"])
    parser.add_argument("--per-chat", type=int, default=10, help="burst messages per chat")
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "this": REPO}
    benches: dict[str, Callable[[], tuple[float, int]]] = {
        "foundation": _foundation, "burst": _burst(args.per_chat)}
    if args.only:
        benches = {args.only: benches[args.only]}
    print("machine:", machine())
    print("A = base:", sides["base"], " B = this:", REPO)
    rows: list[list[object]] = []
    got: dict[tuple[str, str], list[float]] = {}
    for i in range(args.rounds):
        order = ["base", "this"] if i % 2 == 0 else ["this", "base"]
        for bench, run in benches.items():
            for side in order:
                os.environ["KITH_BENCH_SERVE_REPO"] = str(sides[side])
                load = os.getloadavg()[0]
                ms, messages = run()
                got.setdefault((bench, side), []).append(ms)
                rows.append([i + 1, bench, side, messages, ms, load])
                print(f"round {i + 1} {bench} {side}: {ms:.2f} ms/msg ({messages} messages, "
                      f"load {load:.1f})", flush=True)
    os.environ.pop("KITH_BENCH_SERVE_REPO", None)
    print_table("Each run (Kith's CPU per message)",
                ["round", "bench", "side", "messages", "CPU ms/msg", "load (1 min)"], rows)
    summary = []
    for bench in benches:
        a, b = statistics.median(got[bench, "base"]), statistics.median(got[bench, "this"])
        summary.append([bench, len(got[bench, "base"]), a, b, (b - a) / a * 100])
    print_table("Median of the rounds", ["bench", "runs each", "base ms/msg", "this ms/msg",
                                          "change %"], summary)


if __name__ == "__main__":
    main()
