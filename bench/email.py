"""Email drafting benchmark: forwarded mails through the real SMTP path to a captured draft.

    python -m bench.email [--mails 400] [--concurrency 16] [--ttft 0.0] [--quick]

Three processes: this one runs Kith's email channel (aiosmtpd listener, DKIM verification,
parsing, the agent, aiosmtplib to the relay) and the SMTP load generator; the fake LLM and
the capturing relay (aiosmtpd) run as processes of their own. Mails are DKIM-signed before
the clock starts; CPU and RSS are this process's. Latency is from the first
byte sent to Kith's listener until the relay has the draft; "added" subtracts the fake
model's own delay. "1 (closed loop)": each mail is sent after the previous draft arrived
(latency without queueing); N senders: as fast as Kith accepts (throughput; latency then
includes the queue). Also measured: the pure part (verify + parse + build the request) alone.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import aiosmtplib

from adapters.email import EmailChannel
from adapters.email.draft import forwarded_quote
from adapters.email.parse import parse_mail
from adapters.email.verify import verify
from bench.common import ProcessMeter, machine, percentile, print_table
from bench.harness import REPO, fake_llm
from core.logging import configure
from core.quoting import render_quoted
from tests.adapters.email.conftest import KITH, OWNER, email_toml, forward
from tests.adapters.email.servers import DkimKey, dns_for, make_key
from tests.support import free_port, make_settings, running_kith, write_bot

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
        render_quoted(forwarded_quote(parse_mail(raw).forwarded, 20_000), "bench")
    return len(mails) / (time.perf_counter() - started)


class RelayProcess:
    """The capturing relay in a process of its own, so it does not share Kith's GIL."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen([sys.executable, "-m", "bench.email", "--serve-relay"],
                                     stdout=subprocess.PIPE, text=True, cwd=REPO)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().split()
        if line[:1] != ["READY"]:
            raise RuntimeError(f"relay did not start: {line!r}")
        self.port = int(line[1])
        self.arrivals: dict[str, float] = {}
        self._arrived = threading.Condition()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            parts = line.split()
            if len(parts) == 3 and parts[0] == "GOT":
                with self._arrived:
                    self.arrivals[parts[1]] = float(parts[2])
                    self._arrived.notify_all()

    def wait(self, count: int, timeout: float) -> dict[str, float]:
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self.arrivals) >= count, timeout):
                raise TimeoutError(f"relay got {len(self.arrivals)} of {count}")
            return dict(self.arrivals)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


def serve_relay() -> None:
    from aiosmtpd.controller import Controller

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: Any) -> str:
            data = envelope.original_content or b""
            match = re.search(rb"(?mi)^In-Reply-To:\s*(<[^>]+>)", data)
            key = match.group(1).decode() if match else "?"
            print(f"GOT {key} {time.time():.6f}", flush=True)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=free_port(),
                            server_hostname="relay.bench")
    controller.start()
    print(f"READY {controller.port}", flush=True)
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


async def smtp_run(mails: list[tuple[str, bytes]], keys: dict[str, DkimKey], concurrency: int,
                   ttft: float) -> tuple[float, list[float], float, float]:
    relay = RelayProcess()
    try:
        with fake_llm(ttft=ttft, reply=REPLY) as base_url, \
                tempfile.TemporaryDirectory() as tmp:
            settings = make_settings(Path(tmp), base_url)
            write_bot(settings.bots_dir, toml=email_toml(relay.port))
            async with running_kith(settings, channels=["email"]) as kith:
                channel = kith.channels[("kith", "email")]
                assert isinstance(channel, EmailChannel) and channel.listener is not None
                channel.dnsfunc = dns_for(keys)
                return await _load(mails, channel.listener.port, relay, concurrency)
    finally:
        relay.stop()


async def _load(mails: list[tuple[str, bytes]], port: int, relay: RelayProcess,
                concurrency: int) -> tuple[float, list[float], float, float]:
    sent_at: dict[str, float] = {}
    queue: asyncio.Queue[tuple[str, bytes]] = asyncio.Queue()
    for mail in mails:
        queue.put_nowait(mail)

    async def worker() -> None:
        while not queue.empty():
            msgid, raw = queue.get_nowait()
            sent_at[msgid] = time.time()
            await aiosmtplib.send(raw, sender=OWNER, recipients=[KITH], hostname="127.0.0.1",
                                  port=port, start_tls=False, timeout=60,
                                  local_hostname="bench.test")

    async def one_by_one() -> None:  # each mail waits for the previous draft: no queueing
        for n, (msgid, raw) in enumerate(mails, start=1):
            sent_at[msgid] = time.time()
            await aiosmtplib.send(raw, sender=OWNER, recipients=[KITH], hostname="127.0.0.1",
                                  port=port, start_tls=False, timeout=60,
                                  local_hostname="bench.test")
            await asyncio.to_thread(relay.wait, n, 60.0)

    meter = ProcessMeter()
    meter.start()
    started = time.time()
    if concurrency == 0:
        await one_by_one()
    else:
        await asyncio.gather(*(worker() for _ in range(concurrency)))
    arrivals = await asyncio.to_thread(relay.wait, len(mails), 600.0)
    cpu, _ = meter.stop()
    wall = max(arrivals.values()) - started
    latencies = [at - sent_at[key] for key, at in arrivals.items() if key in sent_at]
    return len(mails) / wall, latencies, cpu, meter.peak_rss / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--mails", type=int, default=400)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--ttft", type=float, default=0.0, help="fake model delay, seconds")
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--serve-relay", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_relay:
        serve_relay()
        return
    configure("WARNING")
    count = 60 if args.quick else args.mails
    keys = {"example.com": make_key()}
    print(machine())
    pure = pure_rate(signed_mails(keys["example.com"], count), keys)
    rows = []
    runs = [(0, 0.0), (args.concurrency, 0.0)]
    if args.ttft:
        runs += [(0, args.ttft), (args.concurrency, args.ttft)]
    for concurrency, ttft in runs:
        mails = signed_mails(keys["example.com"], min(count, 100) if not concurrency else count)
        rate, lat, cpu, rss = asyncio.run(smtp_run(mails, keys, concurrency, ttft))
        rows.append([f"{ttft:.2f}", len(mails), concurrency or "1 (closed loop)",
                     f"{rate:.1f}", f"{percentile(lat, 50) * 1000:.1f}",
                     f"{percentile(lat, 99) * 1000:.1f}",
                     f"{(percentile(lat, 50) - ttft) * 1000:.1f}", f"{cpu:.1f}", f"{rss:.0f}"])
    print_table("Email drafting through real SMTP (listener → verify → agent → relay)",
                ["model ttft s", "mails", "senders", "mails/s", "p50 ms", "p99 ms",
                 "added p50 ms", "cpu s", "peak RSS MB"], rows)
    print_table("Pure part, one core (DKIM verify + parse + draft request)",
                ["mails", "mails/s"], [[count, f"{pure:.0f}"]])


if __name__ == "__main__":
    main()
