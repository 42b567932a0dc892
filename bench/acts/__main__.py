"""Benchmarks of issue 12 (Kith acts): tools in the prompt, the scheduler, the parse fallback.

    python -m bench.acts [--quick]

Everything runs in this process against a fake LLM on loopback; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import structlog

from bench.acts import parse, provenance, scheduler, tools
from bench.common import machine


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.acts", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="10,000 pending, shorter idle")
    parser.add_argument("--only", choices=["provenance"], help="run only this part")
    args = parser.parse_args()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"machine: {machine()}")
    if args.only == "provenance":
        asyncio.run(provenance.run())
        return
    asyncio.run(tools.run())
    asyncio.run(provenance.run())
    parse.run()
    pending = 10_000 if args.quick else 100_000
    asyncio.run(scheduler.run(pending=pending, due=2_000, window=20.0,
                              idle=5.0 if args.quick else 20.0))


if __name__ == "__main__":
    main()
