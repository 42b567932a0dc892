"""End-to-end benchmark of the Foundation path: web chat HTTP → dispatcher → agent → LLM.

    python -m bench.foundation [--quick]

Three processes: the fake LLM, ``kith serve`` (measured: CPU, RSS) and this load
generator. Each conversation sends its next message when the previous reply has fully
streamed. Added latency = total time minus the fake model's own delay.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
import uuid
from dataclasses import dataclass

import httpx

from bench.common import ProcessMeter, machine, percentile, print_table
from bench.harness import fake_llm, kith_serve

REPLY = "Sure. Here is a short answer with about a dozen words in it today."
WORDS = len(REPLY.split())


@dataclass
class Result:
    model: str
    conversations: int
    messages: int
    seconds: float
    added: list[float]
    cpu: float
    rss_mb: float


async def _converse(client: httpx.AsyncClient, base: str, stop_at: float, model_delay: float,
                    added: list[float], interval: float | None) -> None:
    session = uuid.uuid4().hex
    n = 0
    if interval is not None:  # open loop: spread the conversations' first messages evenly
        await asyncio.sleep(random.uniform(0, interval))
    while n == 0 or time.monotonic() < stop_at:  # at least one message (the warm-up's)
        n += 1
        started = time.monotonic()
        async with client.stream("POST", f"{base}/chat/kith/send",
                                 json={"session": session, "text": f"message {n}"}) as resp:
            async for _ in resp.aiter_raw():
                pass
            if resp.status_code != 200:
                raise RuntimeError(f"HTTP {resp.status_code}")
        added.append(time.monotonic() - started - model_delay)
        if interval is not None:
            await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))


async def _load(base: str, conversations: int, seconds: float, model_delay: float,
                meter: ProcessMeter, interval: float | None = None) -> tuple[int, float,
                                                                             list[float]]:
    added: list[float] = []
    # one small client per conversation: a single shared httpx pool with hundreds of
    # connections spends more CPU on its own bookkeeping than Kith spends on a message
    clients = [httpx.AsyncClient(timeout=120) for _ in range(conversations)]
    try:
        # warm-up: one message per conversation, not measured (connections, first-use work)
        await asyncio.gather(*(_converse(c, base, 0, model_delay, [], None) for c in clients))
        meter.start()
        started = time.monotonic()
        stop_at = started + seconds
        sampler = asyncio.create_task(_sample(meter))
        await asyncio.gather(*(_converse(c, base, stop_at, model_delay, added, interval)
                               for c in clients))
        sampler.cancel()
        elapsed = time.monotonic() - started
    finally:
        await asyncio.gather(*(c.aclose() for c in clients))
    return len(added), elapsed, added


async def _sample(meter: ProcessMeter) -> None:
    while True:
        meter.sample()
        await asyncio.sleep(0.2)


def run(model: str, ttft: float, itl: float, conversations: int, seconds: float,
        interval: float | None = None) -> Result:
    delay = ttft + itl * (WORDS - 1) if ttft or itl else 0.0
    with fake_llm(ttft, itl, REPLY) as url, kith_serve(url) as (base, proc, _):
        meter = ProcessMeter(proc.pid)
        count, elapsed, added = asyncio.run(_load(base, conversations, seconds, delay, meter,
                                                  interval))
        cpu, _ = meter.stop()
    return Result(model, conversations, count, elapsed, added, cpu, meter.peak_rss / 2**20)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    args = parser.parse_args()
    secs = 3.0 if args.quick else 10.0
    print("machine:", machine())
    results = [run("instant", 0, 0, n, secs) for n in (1, 100, 1000)]
    results += [run("300ms+20ms/tok", 0.3, 0.02, n, secs * 1.5) for n in (1, 100, 1000)]
    peak = max(r.messages / r.seconds for r in results[:3])
    half = peak / 2
    paced = run("instant, paced", 0, 0, 100, secs, interval=100 / half)
    paced.model = f"instant @ {half:,.0f}/s (half of peak)"
    rows = [[r.model, r.conversations, r.messages, r.messages / r.seconds,
             percentile(r.added, 50) * 1000, percentile(r.added, 99) * 1000,
             r.cpu / max(r.messages, 1) * 1000, r.rss_mb] for r in [*results, paced]]
    print_table("Foundation: web chat → Kith → fake LLM (SQLite, one process)",
                ["model", "conversations", "messages", "msg/s", "added p50 ms", "added p99 ms",
                 "CPU ms/msg", "peak RSS MB"], rows)


if __name__ == "__main__":
    main()
