"""Benchmarks of issues 12 and 26 (Kith acts, Kith reaches further): tools in the prompt,
tool selection with many MCP tools and the latency of an MCP call, the scheduler, the parse
fallback.

    python -m bench.acts [--quick] [--only tools|provenance|reach|parse|scheduler]

Everything runs in this process against a fake LLM on loopback; nothing leaves 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import logging

import structlog

from bench.acts import parse, provenance, reach, scheduler, statements, tools
from bench.common import machine

PARTS = ("tools", "provenance", "statements", "reach", "parse", "scheduler")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.acts", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="10,000 pending, shorter idle, 50 MCP calls")
    parser.add_argument("--only", choices=PARTS, action="append",
                        help="run only this part (repeatable; default: all)")
    args = parser.parse_args()
    parts = args.only or PARTS
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING))
    print(f"machine: {machine()}")
    if "tools" in parts:
        asyncio.run(tools.run())
    if "provenance" in parts:
        asyncio.run(provenance.run())
    if "statements" in parts:
        asyncio.run(statements.run())
    if "reach" in parts:
        asyncio.run(reach.run(quick=args.quick))
    if "parse" in parts:
        parse.run()
    if "scheduler" in parts:
        pending = 10_000 if args.quick else 100_000
        asyncio.run(scheduler.run(pending=pending, due=2_000, window=20.0,
                                  idle=5.0 if args.quick else 20.0))


if __name__ == "__main__":
    main()
