"""Telegram webhook path: fake Bot API → ``kith serve`` (measured) → fake LLM → edits back.

    python -m bench.telegram [--quick] [--burst-only]

Three processes: the fake LLM, ``kith serve`` with a Telegram channel in webhook mode, and
this one (load generator + the loopback fake Bot API, in its own thread). Each private chat
sends its next update when the previous reply shows its full text. Times come from the fake
Bot API's own clock: *first* = webhook POST → first ``sendMessage``; *final* = POST → the call
that made the full reply visible. "Added" subtracts the fake model's own delay
(ttft + itl × (words − 1)); the final figure includes the edit throttle (``edit_interval``).
Each chat waits 1 s ("reading") before its next message, as people do; without it the
per-chat pacing (one message per second per chat, Telegram's advice) would dominate.
"""

from __future__ import annotations

import argparse
import asyncio
import secrets
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import httpx

from bench.common import ProcessMeter, machine, mean, percentile, print_table
from bench.harness import fake_llm, kith_serve
from tests.fakes.telegram import TOKEN, FakeBotAPI, Sent, running_fake_bot_api

REPLY = ("Sure. Here is a **short** answer with about forty words in it, streamed the way a "
         "Llama server streams: one token at a time, so the channel sends a first message and "
         "then edits it in place as more text arrives, at most once per edit interval.")
WORDS = len(REPLY.split())
SECRET = "bench-secret-0123456789"
# a public URL is set (the webhook's), so serve wants a strong web token (webhooks need none)
WEB_TOKEN = secrets.token_urlsafe(32)
FIRST_CHAT = 50_000


@dataclass
class Run:
    label: str
    conversations: int
    seconds: float = 0.0
    first: list[float] = field(default_factory=list)
    final: list[float] = field(default_factory=list)
    ack: list[float] = field(default_factory=list)
    edits: int = 0
    replies: int = 0
    cpu: float = 0.0
    rss_mb: float = 0.0


@contextmanager
def fake_bot_api(fake: FakeBotAPI) -> Iterator[str]:
    """Serve the fake Bot API on its own thread and event loop."""
    ready = threading.Event()
    box: dict[str, object] = {}

    async def serve() -> None:
        stop = asyncio.Event()
        async with running_fake_bot_api(fake) as url:
            box.update(url=url, stop=stop, loop=asyncio.get_running_loop())
            ready.set()
            await stop.wait()

    thread = threading.Thread(target=lambda: asyncio.run(serve()), daemon=True)
    thread.start()
    if not ready.wait(10):
        raise RuntimeError("fake Bot API did not start")
    try:
        yield str(box["url"])
    finally:
        loop, stop = box["loop"], box["stop"]
        assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(10)


def bot_toml(api: str, chats: int, edit_interval: float, global_rate: float) -> str:
    owners = ", ".join(str(FIRST_CHAT + i) for i in range(chats))
    return (f'[channels.telegram]\ntoken_env = "TG_BENCH_TOKEN"\nmode = "webhook"\n'
            f'api_base_url = "{api}"\nwebhook_secret_env = "TG_BENCH_SECRET"\n'
            f'public_url = "https://kith.example"\nowners = [{owners}]\n'
            f"edit_interval = {edit_interval}\nglobal_rate = {global_rate}\n")


def update(chat: int, n: int, update_id: int) -> dict[str, object]:
    user = {"id": chat, "is_bot": False, "first_name": f"User{chat}"}
    return {"update_id": update_id, "message": {
        "message_id": n, "date": int(time.time()), "from": user,
        "chat": {"id": chat, "first_name": user["first_name"], "type": "private"},
        "text": f"message {n}: tell me something"}}


async def post_update(client: httpx.AsyncClient, hook: str, body: dict[str, object]) -> None:
    """POST one update like Telegram: a webhook whose connection failed is sent again (Kith
    drops the duplicate if the first one did arrive)."""
    for _ in range(5):
        try:
            resp = await client.post(hook, json=body,
                                     headers={"x-telegram-bot-api-secret-token": SECRET})
        except httpx.TransportError:
            await asyncio.sleep(0.5)
            continue
        if resp.status_code != 200:
            raise RuntimeError(f"webhook answered {resp.status_code}")
        return
    raise RuntimeError("webhook unreachable")


async def converse(client: httpx.AsyncClient, hook: str, fake: FakeBotAPI, chat: int,
                   stop_at: float, delay: float, run: Run, ids: Iterator[int],
                   changed: dict[int, asyncio.Event], think: float) -> None:
    n = 0
    event = changed.setdefault(chat, asyncio.Event())
    while n == 0 or time.monotonic() < stop_at:  # at least one message (the warm-up's)
        n += 1
        started = time.monotonic()
        await post_update(client, hook, update(chat, n, next(ids)))
        run.ack.append(time.monotonic() - started)
        while True:
            sent = fake.by_chat.get(chat, [])
            if len(sent) >= n and sent[n - 1].text == REPLY.replace("**", ""):
                break
            await asyncio.wait_for(event.wait(), 60)
            event.clear()
        msg = sent[n - 1]
        run.first.append(msg.at - started)
        run.final.append(msg.updated_at - started - delay)
        run.edits += msg.edits
        run.replies += 1
        await asyncio.sleep(think)  # a person reads, then writes again


async def load(base: str, fake: FakeBotAPI, run: Run, seconds: float, ttft: float,
               delay: float, meter: ProcessMeter, think: float) -> None:
    ids = iter(range(1, 10**9))
    loop = asyncio.get_running_loop()
    changed: dict[int, asyncio.Event] = {}

    def wake(chat: int) -> None:
        event = changed.get(chat)
        if event is not None:
            loop.call_soon_threadsafe(event.set)

    fake.listener = wake
    hook = f"{base}/hooks/kith/telegram"
    limits = httpx.Limits(max_connections=run.conversations + 10)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        warm = Run("warm-up", run.conversations)
        await asyncio.gather(*(converse(client, hook, fake, FIRST_CHAT + i, 0, delay, warm, ids,
                                        changed, 0.0)
                               for i in range(run.conversations)))
        for i in range(run.conversations):  # warm-up replies are not counted
            fake.by_chat.pop(FIRST_CHAT + i, None)
        meter.start()
        started = time.monotonic()
        await asyncio.gather(*(converse(client, hook, fake, FIRST_CHAT + i,
                                        started + seconds, delay, run, ids, changed, think)
                               for i in range(run.conversations)))
        run.seconds = time.monotonic() - started
        run.cpu, _ = meter.stop()
    run.first = [f - ttft for f in run.first]


@dataclass
class Burst:
    chats: int
    per_chat: int
    global_rate: float
    seconds: float = 0.0
    replies: int = 0
    calls: dict[str, int] = field(default_factory=dict)
    partial_first: int = 0
    missing: int = 0  # replies that never showed in full before the deadline
    cpu: float = 0.0
    rss_mb: float = 0.0


async def burst_load(base: str, fake: FakeBotAPI, run: Burst, meter: ProcessMeter,
                     deadline_s: float = 600.0) -> None:
    """Every chat posts all its messages at once (in order); wait for every full reply."""
    hook = f"{base}/hooks/kith/telegram"
    full = REPLY.replace("**", "")
    ids = iter(range(1, 10**9))
    chats = [FIRST_CHAT + i for i in range(run.chats)]
    limits = httpx.Limits(max_connections=40)  # Telegram's default webhook max_connections
    async with httpx.AsyncClient(timeout=300, limits=limits) as client:
        async def chat(c: int) -> None:
            for n in range(1, run.per_chat + 1):
                await post_update(client, hook, update(c, n, next(ids)))

        def complete() -> list[Sent]:
            return [s for c in chats for s in fake.by_chat.get(c, []) if s.text == full]

        # warm-up, not measured: one message in a chat of its own, answered in full
        warm = FIRST_CHAT + run.chats
        await post_update(client, hook, update(warm, 1, next(ids)))
        while not any(s.text == full for s in fake.by_chat.get(warm, [])):
            await asyncio.sleep(0.05)
        before = len(fake.calls)
        meter.start()
        started = time.monotonic()
        await asyncio.gather(*(chat(c) for c in chats))
        deadline = started + deadline_s
        quiet_since, seen = time.monotonic(), 0
        while len(complete()) < run.chats * run.per_chat and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
            if len(fake.calls) != seen:
                quiet_since, seen = time.monotonic(), len(fake.calls)
            elif time.monotonic() - quiet_since > 60:  # nothing moves: the rest is lost
                break
        sent = complete()
        run.seconds = max(s.updated_at for s in sent) - started
        run.cpu, _ = meter.stop()
    for call in fake.calls[before:]:
        run.calls[call.method] = run.calls.get(call.method, 0) + 1
    run.replies = len(sent)
    run.missing = run.chats * run.per_chat - len(sent)
    run.partial_first = sum(1 for s in sent if s.edits)


def measure_burst(chats: int = 200, per_chat: int = 10, ttft: float = 0.3,
                  itl: float = 0.03) -> Burst:
    """The issue's setting: Kith's default limits, 2,000 messages from 200 chats at once."""
    run = Burst(chats, per_chat, global_rate=30.0)
    fake = FakeBotAPI()
    with fake_bot_api(fake) as api, fake_llm(ttft, itl, REPLY) as llm:
        owners = ", ".join(str(FIRST_CHAT + i) for i in range(chats + 1))  # + the warm-up
        toml = (f'[channels.telegram]\ntoken_env = "TG_BENCH_TOKEN"\nmode = "webhook"\n'
                f'api_base_url = "{api}"\nwebhook_secret_env = "TG_BENCH_SECRET"\n'
                f'public_url = "https://kith.example"\nowners = [{owners}]\n')
        with kith_serve(llm, toml, TG_BENCH_TOKEN=TOKEN, TG_BENCH_SECRET=SECRET,
                        KITH_GATEWAY__WEBCHAT_TOKEN=WEB_TOKEN,
                        KITH_LLM__MAX_REPLY_TOKENS="256", KITH_CONCURRENCY="64") as (
                            base, proc, _):
            meter = ProcessMeter(proc.pid)
            asyncio.run(burst_load(base, fake, run, meter))
            run.rss_mb = meter.peak_rss / 2**20
    return run


def print_burst(run: Burst, ttft: float, itl: float) -> None:
    paid = sum(n for m, n in run.calls.items() if m in ("sendMessage", "editMessageText"))
    rate = run.replies / run.seconds
    print_table(f"Telegram burst: {run.chats * run.per_chat:,} messages from {run.chats} chats "
                f"at once, default limits (global_rate {run.global_rate:g}/s, edit_interval "
                f"1 s), model {ttft * 1000:.0f} ms + {itl * 1000:.0f} ms/token",
                ["replies", "lost", "seconds", "replies/s", "% of global rate",
                 "send+edit calls/reply", "sendMessage", "editMessageText", "sendChatAction",
                 "first send partial", "CPU ms/msg", "peak RSS MB"],
                [[run.replies, run.missing, run.seconds, rate, rate / run.global_rate * 100,
                  paid / max(run.replies, 1), run.calls.get("sendMessage", 0),
                  run.calls.get("editMessageText", 0), run.calls.get("sendChatAction", 0),
                  run.partial_first, run.cpu / max(run.replies, 1) * 1000, run.rss_mb]])


def measure(label: str, conversations: int, seconds: float, ttft: float, itl: float,
            edit_interval: float = 1.0, global_rate: float = 1000.0, think: float = 1.0) -> Run:
    delay = ttft + itl * (WORDS - 1)
    run = Run(label, conversations)
    fake = FakeBotAPI()
    with fake_bot_api(fake) as api, fake_llm(ttft, itl, REPLY) as llm:
        toml = bot_toml(api, conversations, edit_interval, global_rate)
        with kith_serve(llm, toml, TG_BENCH_TOKEN=TOKEN, TG_BENCH_SECRET=SECRET,
                        KITH_GATEWAY__WEBCHAT_TOKEN=WEB_TOKEN,
                        KITH_LLM__MAX_REPLY_TOKENS="256") as (base, proc, _):
            meter = ProcessMeter(proc.pid)
            asyncio.run(load(base, fake, run, seconds, ttft, delay, meter, think))
            run.rss_mb = meter.peak_rss / 2**20
    return run


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs (smoke)")
    parser.add_argument("--burst-only", action="store_true", help="only the burst run")
    parser.add_argument("--no-burst", action="store_true", help="skip the burst run")
    args = parser.parse_args()
    secs = 3.0 if args.quick else 10.0
    print("machine:", machine())
    if not args.no_burst:
        print_burst(measure_burst(per_chat=2 if args.quick else 10), 0.3, 0.03)
    if args.burst_only:
        return
    runs = [measure("instant model", n, secs, 0.0, 0.0) for n in (1, 50, 200)]
    runs += [measure("300ms + 20ms/token", n, secs * 1.5, 0.3, 0.02) for n in (1, 50, 200)]
    runs.append(measure("300ms + 20ms/token, Telegram's 30/s cap", 50, secs * 1.5, 0.3, 0.02,
                        global_rate=30.0))
    rows = [[r.label, r.conversations, r.replies, r.replies / r.seconds,
             percentile(r.ack, 50) * 1000, percentile(r.first, 50) * 1000,
             percentile(r.first, 99) * 1000, percentile(r.final, 50) * 1000,
             percentile(r.final, 99) * 1000, r.edits / max(r.replies, 1),
             r.cpu / max(r.replies, 1) * 1000, r.rss_mb] for r in runs]
    print_table("Telegram: webhook → Kith → fake LLM → sendMessage + editMessageText "
                "(edit_interval 1 s)",
                ["model", "chats", "replies", "msg/s", "ack p50 ms", "first+ p50 ms",
                 "first+ p99 ms", "final+ p50 ms", "final+ p99 ms", "edits/reply",
                 "CPU ms/msg", "peak RSS MB"], rows)
    print(f"first+ = first visible message minus the model's TTFT; final+ = full reply "
          f"visible minus the model's whole stream time. mean edits/reply over all runs: "
          f"{mean([r.edits / max(r.replies, 1) for r in runs]):.2f}")


if __name__ == "__main__":
    main()
