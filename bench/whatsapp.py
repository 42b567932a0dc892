"""WhatsApp benchmark: webhook acknowledgement latency under load, end-to-end messages/s.

    python -m bench.whatsapp [--quick]

Three processes: the fake LLM, ``kith serve`` (measured: CPU, RSS) serving both WhatsApp
channels, and this load generator, which also hosts the fake Twilio and Graph APIs. Every
webhook is signed like the real platform signs it. ``ack`` is the webhook round trip (what
Twilio/Meta wait for); ``messages/s`` counts replies that reached the fake REST API.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from collections import Counter
from dataclasses import dataclass
from urllib.parse import urlencode

import httpx

from bench.common import ProcessMeter, machine, percentile, print_table
from bench.harness import fake_llm, kith_serve
from tests.fakes.graph import FakeGraph
from tests.fakes.loopback import serve_loopback
from tests.fakes.twilio import FakeTwilio

SID, TOKEN = "AC" + "b" * 32, "bench-twilio-token"
GRAPH_TOKEN, APP_SECRET, VERIFY = "bench-graph-token", "bench-app-secret", "bench-verify"
PUBLIC = "https://bench.example"
REPLY = "Sure, here is a short answer for you."
SLOW = 60.0  # a model this slow never answers during the run: the ack path alone is measured


@dataclass
class Run:
    provider: str
    model_ttft: float
    messages: int
    acks: list[float]
    errors: Counter[str]
    delivered: int | None
    seconds: float
    cpu: float
    rss_mb: float
    loadgen_cpu: float


def senders(count: int) -> list[str]:
    return [f"+1555{2000000 + i:07d}" for i in range(count)]


def bot_toml(twilio_api: str, graph_api: str, numbers: list[str]) -> str:
    allowed = json.dumps(numbers)
    return f"""
[channels.whatsapp]
account_sid_env = "BENCH_TWILIO_SID"
auth_token_env = "BENCH_TWILIO_TOKEN"
from_number = "+14155238886"
api_base_url = "{twilio_api}"
allowed_numbers = {allowed}

[channels.whatsapp_cloud]
access_token_env = "BENCH_GRAPH_TOKEN"
app_secret_env = "BENCH_APP_SECRET"
verify_token_env = "BENCH_VERIFY"
phone_number_id = "106540352242922"
api_base_url = "{graph_api}"
allowed_numbers = {allowed}
"""


def twilio_request(twilio: FakeTwilio, n: int, number: str) -> tuple[bytes, dict[str, str]]:
    sid = f"SM{n:032x}"
    form = {"AccountSid": SID, "ApiVersion": "2010-04-01", "Body": f"message {n}",
            "From": f"whatsapp:{number}", "To": "whatsapp:+14155238886", "MessageSid": sid,
            "SmsMessageSid": sid, "SmsSid": sid, "SmsStatus": "received", "NumMedia": "0",
            "ProfileName": "Bench", "WaId": number[1:], "MessageType": "text"}
    signature = twilio.sign(f"{PUBLIC}/hooks/kith/whatsapp", form)
    return urlencode(form).encode(), {"content-type": "application/x-www-form-urlencoded",
                                      "x-twilio-signature": signature}


def cloud_request(graph: FakeGraph, n: int, number: str) -> tuple[bytes, dict[str, str]]:
    message = {"from": number[1:], "id": f"wamid.bench{n:08d}", "timestamp": "1749416383",
               "type": "text", "text": {"body": f"message {n}"}}
    value = {"messaging_product": "whatsapp",
             "metadata": {"display_phone_number": "15550783881",
                          "phone_number_id": "106540352242922"},
             "contacts": [{"profile": {"name": "Bench"}, "wa_id": number[1:]}],
             "messages": [message]}
    body = json.dumps({"object": "whatsapp_business_account", "entry": [
        {"id": "1", "changes": [{"value": value, "field": "messages"}]}]}).encode()
    return body, {"content-type": "application/json",
                  "x-hub-signature-256": graph.sign(body)}


async def load(base: str, provider: str, twilio: FakeTwilio, graph: FakeGraph, count: int,
               concurrency: int, numbers: list[str], offset: int
               ) -> tuple[list[float], Counter[str], float]:
    hook = f"{base}/hooks/kith/{provider}"
    acks: list[float] = []
    errors: Counter[str] = Counter()

    def signed(n: int) -> tuple[bytes, dict[str, str]]:
        number = numbers[n % len(numbers)]
        return (twilio_request(twilio, n, number) if provider == "whatsapp"
                else cloud_request(graph, n, number))

    requests = [signed(offset + n) for n in range(count)]  # signing is not measured
    todo = iter(requests)

    async def worker() -> None:
        # One connection per worker: a shared pool's bookkeeping grows with its size and
        # would make the load generator, not Kith, the thing being measured.
        async with httpx.AsyncClient(timeout=30.0) as client:
            for body, headers in todo:
                started = time.perf_counter()
                try:
                    response = await client.post(hook, content=body, headers=headers)
                except httpx.TransportError as err:
                    errors[type(err).__name__] += 1
                    continue
                acks.append(time.perf_counter() - started)
                if response.status_code != 200:
                    errors[f"HTTP {response.status_code}"] += 1

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return acks, errors, started


async def scenario(provider: str, ttft: float, count: int, concurrency: int,
                   senders_n: int) -> Run:
    twilio, graph = FakeTwilio(SID, TOKEN), FakeGraph(GRAPH_TOKEN, APP_SECRET)
    numbers = senders(senders_n)
    env = {"BENCH_TWILIO_SID": SID, "BENCH_TWILIO_TOKEN": TOKEN,
           "BENCH_GRAPH_TOKEN": GRAPH_TOKEN, "BENCH_APP_SECRET": APP_SECRET,
           "BENCH_VERIFY": VERIFY, "KITH_GATEWAY__PUBLIC_URL": PUBLIC}
    async with serve_loopback(twilio.app()) as tw_api, serve_loopback(graph.app()) as gr_api:
        with fake_llm(ttft=ttft, reply=REPLY) as llm_url, kith_serve(
                llm_url, bot_toml(tw_api, gr_api, numbers), **env) as (base, proc, _):
            fake = twilio if provider == "whatsapp" else graph
            await load(base, provider, twilio, graph, 20, 10, numbers, 10**6)  # warm up
            if ttft < SLOW:
                await fake.wait_messages(20, within=60)
                fake.messages.clear()
            meter, own = ProcessMeter(proc.pid), ProcessMeter()
            meter.start()
            own.start()
            acks, errors, started = await load(base, provider, twilio, graph, count,
                                               concurrency, numbers, 0)
            if ttft < SLOW:
                with contextlib.suppress(TimeoutError):
                    await fake.wait_messages(count - errors.total(), within=120)
            seconds = time.perf_counter() - started
            cpu, _ = meter.stop()
            own_cpu, _ = own.stop()
            delivered = len(fake.messages) if ttft < SLOW else None
            return Run(provider, ttft, count, acks, errors, delivered, seconds, cpu,
                       meter.peak_rss / 2**20, own_cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--in-flight", type=int, default=50)
    parser.add_argument("--provider", choices=["whatsapp", "whatsapp_cloud"], action="append")
    parser.add_argument("--ttft", type=float, action="append")
    args = parser.parse_args()
    count = 300 if args.quick else 2000
    runs = []
    for provider in args.provider or ["whatsapp", "whatsapp_cloud"]:
        for ttft in args.ttft or [SLOW, 0.0]:
            runs.append(asyncio.run(scenario(provider, ttft, count, args.in_flight, 200)))
    print(f"machine: {machine()}")
    print_table(
        f"WhatsApp webhooks: {count} signed messages, {args.in_flight} in flight, 200 senders "
        "(ack = webhook round trip; e2e = replies received by the fake REST API)",
        ["provider", "model ttft s", "ack p50 ms", "ack p99 ms", "ack max ms", "errors",
         "delivered", "e2e msg/s", "kith CPU ms/msg", "kith RSS MB", "loadgen+fakes CPU s",
         "wall s"],
        [[r.provider, r.model_ttft, percentile(r.acks, 50) * 1000,
          percentile(r.acks, 99) * 1000, max(r.acks, default=float("nan")) * 1000,
          ", ".join(f"{k}: {v}" for k, v in r.errors.items()) or "0",
          "—" if r.delivered is None else f"{r.delivered}/{r.messages}",
          float("nan") if r.delivered is None else r.delivered / r.seconds,
          r.cpu / r.messages * 1000, r.rss_mb, r.loadgen_cpu, r.seconds] for r in runs],
    )


if __name__ == "__main__":
    main()
