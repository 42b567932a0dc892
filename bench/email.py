"""Email drafting benchmark: forwarded mails through the real SMTP path to a captured draft.

    python -m bench.email [--mails 400] [--concurrency 16] [--ttft 0.0] [--quick]

One process: Kith's email channel (aiosmtpd listener, DKIM verification, parsing, the agent,
aiosmtplib to the relay), the fake LLM (a uvicorn thread) and the capturing relay (an
aiosmtpd thread). Mails are DKIM-signed before the clock starts. Latency is from the first
byte sent to Kith's listener until the relay has the draft; "added" subtracts the fake
model's own delay. Also measured: the pure part (verify + parse + build the request) alone.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from pathlib import Path

import aiosmtplib

from adapters.email import EmailChannel
from adapters.email.draft import draft_request
from adapters.email.parse import parse_mail
from adapters.email.verify import verify
from bench.common import ProcessMeter, machine, percentile, print_table
from core.logging import configure
from tests.adapters.email.conftest import KITH, OWNER, email_toml, forward
from tests.adapters.email.servers import DkimKey, dns_for, make_key, start_relay
from tests.fakes.llm import FakeLLM, running_fake_llm
from tests.support import make_settings, running_kith, write_bot

REPLY = "Hi Alice,\n\nThursday works for me. See you then.\n\nBest,\nOwen"
BODY = ("Hi,\n\nCould we meet next week to go over the contract? Tuesday or Thursday "
        "afternoon would suit me. I attach the latest draft.\n\nBest,\nAlice\n") * 4


def signed_mails(key: DkimKey, count: int) -> list[tuple[str, bytes]]:
    mails = []
    for n in range(count):
        msgid = f"<bench-{n}-{time.time_ns()}@example.com>"
        raw = forward("tell her Thursday works, keep it short", BODY, msgid=msgid)
        mails.append((msgid, key.sign(raw, "example.com")))
    return mails


def pure_rate(mails: list[tuple[str, bytes]], keys: dict[str, DkimKey]) -> float:
    lookup = dns_for(keys)
    started = time.perf_counter()
    for _, raw in mails:
        assert verify(raw, [OWNER], dnsfunc=lookup).ok
        draft_request(parse_mail(raw))
    return len(mails) / (time.perf_counter() - started)


async def smtp_run(mails: list[tuple[str, bytes]], keys: dict[str, DkimKey], concurrency: int,
                   ttft: float) -> tuple[float, list[float], float, float]:
    relay, controller = start_relay()
    fake = FakeLLM(reply=REPLY, ttft=ttft, record=False)
    try:
        async with running_fake_llm(fake) as base_url:
            with tempfile.TemporaryDirectory() as tmp:
                settings = make_settings(Path(tmp), base_url)
                write_bot(settings.bots_dir, toml=email_toml(relay.port))
                async with running_kith(settings, channels=["email"]) as kith:
                    channel = kith.channels[("kith", "email")]
                    assert isinstance(channel, EmailChannel) and channel.listener is not None
                    channel.dnsfunc = dns_for(keys)
                    return await _load(mails, channel.listener.port, relay, concurrency)
    finally:
        controller.stop()


async def _load(mails: list[tuple[str, bytes]], port: int, relay: object, concurrency: int
                ) -> tuple[float, list[float], float, float]:
    from tests.adapters.email.servers import Relay

    assert isinstance(relay, Relay)
    sent_at: dict[str, float] = {}
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for mail in mails:
        queue.put_nowait(mail)

    async def worker() -> None:
        while not queue.empty():
            msgid, raw = queue.get_nowait()
            sent_at[msgid] = time.perf_counter()
            await aiosmtplib.send(raw, sender=OWNER, recipients=[KITH], hostname="127.0.0.1",
                                  port=port, start_tls=False, timeout=60,
                                  local_hostname="bench.test")

    meter = ProcessMeter()
    meter.start()
    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    received = await asyncio.to_thread(relay.wait_for, len(mails), 600.0)
    cpu, _ = meter.stop()
    wall = max(c.at for c in received) - started
    latencies = [c.at - sent_at[str(c.message["In-Reply-To"]).strip()] for c in received]
    return len(mails) / wall, latencies, cpu, meter.peak_rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--ttft", type=float, default=0.0, help="fake model delay, seconds")
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    configure("WARNING")
    count = 60 if args.quick else args.mails
    keys = {"example.com": make_key()}
    print(machine())
    pure = pure_rate(signed_mails(keys["example.com"], count), keys)
    rows = []
    for ttft in sorted({0.0, args.ttft}):
        rate, lat, cpu, rss = asyncio.run(
            smtp_run(signed_mails(keys["example.com"], count), keys, args.concurrency, ttft))
        rows.append([f"{ttft:.2f}", count, args.concurrency, f"{rate:.1f}",
                     f"{percentile(lat, 50) * 1000:.1f}", f"{percentile(lat, 99) * 1000:.1f}",
                     f"{(percentile(lat, 50) - ttft) * 1000:.1f}", f"{cpu:.1f}", f"{rss:.0f}"])
    print_table("Email drafting through real SMTP (listener → verify → agent → relay)",
                ["model ttft s", "mails", "concurrency", "mails/s", "p50 ms", "p99 ms",
                 "added p50 ms", "cpu s", "peak RSS MB"], rows)
    print_table("Pure part, one core (DKIM verify + parse + draft request)",
                ["mails", "mails/s"], [[count, f"{pure:.0f}"]])


if __name__ == "__main__":
    main()
