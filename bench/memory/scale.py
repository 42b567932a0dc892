"""LoCoMo recall as a store grows: the person's own history, or someone else's, filled in.

    python -m bench.memory --only scale --locomo PATH --fill none,same:10000,other:100000

Each LoCoMo conversation is one person's memories (each turn one memory, MiniLM vectors),
asked its questions after the last session through Kith's own ``recall`` with the shipped
settings (k 8, 400 tokens). A fill adds synthetic memories before the questions:
``same:N`` gives each conversation's person N more of their own, ``other:N`` gives one
other person N (never visible to the askers). A fill memory joins two halves of turns of
the *other* conversations, with this conversation's speaker names put in (so it shares the
person's names and the dialogue's vocabulary), dated within the conversation's span; its
vector is the mean of those turns' vectors plus noise. Reported per category: any
evidence turn among the memories that reach the prompt (evidence in prompt), and among the
top 5/10/50 of the ranking (any@k), lexical and hybrid; and recall() latency (the query
embedding is not timed: it is the inference server's work).
"""

from __future__ import annotations

import random
import tempfile
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from bench.common import mean, percentile, print_table
from bench.memory.embed import Embedder
from bench.memory.locomo import CATEGORIES, Dialogue, load
from core.events import Sender
from core.memory.model import PRIVATE, MemoryKind, NewMemory, Source, Visibility
from core.memory.recall import RecallQuery, ranked, recall
from core.store.sqlite import SQLiteStore

KS = (5, 10, 50)


@dataclass
class Outcome:
    category: str
    hits: dict[str, float] = field(default_factory=dict)  # "lexical any@5" -> 0/1


def _speakers(dialogue: Dialogue) -> list[str]:
    return sorted({t.text.split(":", 1)[0] for t in dialogue.turns})


def fill_rows(dialogue: Dialogue, others: Sequence[Dialogue], vectors: dict[str, Any],
              count: int, seed: int) -> list[tuple[str, datetime, Any]]:
    """``count`` (text, when, vector) memories in the person's names, from other dialogues."""
    rnd = random.Random(seed)
    rng = np.random.default_rng(seed)
    pool = [(d, t) for d in others for t in d.turns]
    names = _speakers(dialogue)
    start, end = dialogue.turns[0].at, dialogue.turns[-1].at
    span = max((end - start).total_seconds(), 1.0)
    out = []
    for _ in range(count):
        (d1, a), (d2, b) = rnd.choice(pool), rnd.choice(pool)
        text = a.text.split(":", 1)[-1]
        words_a, words_b = text.split(), b.text.split(":", 1)[-1].split()
        body = " ".join(words_a[: max(1, len(words_a) // 2)] + words_b[len(words_b) // 2:])
        for old, new in zip(_speakers(d1) + _speakers(d2), names * 2, strict=False):
            body = body.replace(old, new)
        when = start + timedelta(seconds=rnd.random() * span)
        vec = (vectors[a.dia_id + d1.name] + vectors[b.dia_id + d2.name]) / 2
        vec = vec + 0.02 * rng.standard_normal(vec.shape).astype(np.float32)
        out.append((f"{rnd.choice(names)}: {body}", when, vec.astype(np.float32)))
    return out


def bulk_add(store: SQLiteStore, person: str, rows: Sequence[tuple[str, datetime, Any]]) -> None:
    """Insert many memories (with vectors) in one transaction, as add_memory writes them."""
    db = store.db
    with db:
        db.execute("BEGIN")
        for start in range(0, len(rows), 5000):
            chunk = rows[start:start + 5000]
            ids = ["f" + uuid.uuid4().hex[:12] for _ in chunk]
            db.executemany(
                "INSERT INTO memories (id, person_id, text, kind, scope, confidence, "
                "source_inbound, source_channel, source_sender, source_at, created_at, "
                "updated_at) VALUES (?, ?, ?, 'fact', ?, 0.9, 'fill', 'bench', 'me', ?, ?, ?)",
                [(i, person, text, PRIVATE, at.isoformat(), at.isoformat(), at.isoformat())
                 for i, (text, at, _) in zip(ids, chunk, strict=True)])
            db.executemany(
                "INSERT INTO memory_vectors (n, dim, vec) SELECT n, ?, ? FROM memories "
                "WHERE id = ?", [(len(v), np.asarray(v, dtype=np.float32).tobytes(), i)
                                 for i, (_, _, v) in zip(ids, chunk, strict=True)])
    store.memories._invalidate()


async def run_fill(path: Path, embedder: Embedder, fill: str, seed: int = 3) -> None:
    dialogues = load(path)
    mode, _, size = fill.partition(":")
    count = int(size or 0)
    turn_vecs = {d.name: embedder([t.text for t in d.turns]) for d in dialogues}
    vectors = {t.dia_id + d.name: v for d in dialogues
               for t, v in zip(d.turns, turn_vecs[d.name], strict=True)}
    outcomes: list[Outcome] = []
    lat: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "scale.db", synchronous="OFF")
        await store.open()
        people: dict[str, tuple[str, dict[str, str]]] = {}
        for d in dialogues:
            person = await store.person_for("bench", Sender(f"p-{d.name}", "Me"))
            dia: dict[str, str] = {}
            for turn, vector in zip(d.turns, turn_vecs[d.name], strict=True):
                made = await store.memories.add_memory(NewMemory(
                    person, turn.text, MemoryKind.FACT,
                    Source(turn.dia_id, "bench", "me", turn.at), 0.9,
                    vector=vector.tolist()), turn.at)
                dia[made.id] = turn.dia_id
            people[d.name] = (person, dia)
            if mode == "same" and count:
                others = [o for o in dialogues if o is not d]
                bulk_add(store, person, fill_rows(d, others, vectors, count, seed))
        if mode == "other" and count:
            stranger = await store.person_for("bench", Sender("stranger", "Other"))
            per = count // len(dialogues)
            for n, d in enumerate(dialogues):
                others = [o for o in dialogues if o is not d]
                bulk_add(store, stranger, fill_rows(d, others, vectors, per, seed + n))
        load_s = time.perf_counter() - started
        for d in dialogues:
            person, dia = people[d.name]
            vis = Visibility(owner=person)
            now = d.turns[-1].at + timedelta(days=1)
            qvecs = embedder([q.text for q in d.questions])
            await store.memories.search_vectors(vis, qvecs[0].tolist(), now, 1)  # warm
            await store.memories.ready()
            for q, qv in zip(d.questions, qvecs, strict=True):
                out = Outcome(CATEGORIES[q.category])
                for method, vector in (("lexical", None), ("hybrid", qv.tolist())):
                    query = RecallQuery(vis, q.text, now, vector)
                    t0 = time.perf_counter()
                    fits = await recall(store.memories, query)
                    lat[method].append((time.perf_counter() - t0) * 1000)
                    got = {dia.get(m.id) for m in fits}
                    out.hits[f"{method} in prompt"] = float(bool(got & q.evidence))
                    order = [dia.get(i) for i in (await ranked(store.memories, query))[:50]]
                    for k in KS:
                        out.hits[f"{method} any@{k}"] = float(bool(set(order[:k]) & q.evidence))
                outcomes.append(out)
        await store.close()
    _report(fill, outcomes, lat, load_s, embedder.name)


def _report(fill: str, outcomes: list[Outcome], lat: dict[str, list[float]], load_s: float,
            embedder: str) -> None:
    groups: dict[str, list[Outcome]] = defaultdict(list)
    for o in outcomes:
        groups["all"].append(o)
        groups[o.category].append(o)
    keys = ["in prompt", *(f"any@{k}" for k in KS)]
    rows = []
    for group, items in sorted(groups.items(), key=lambda g: (g[0] != "all", g[0])):
        for method in ("lexical", "hybrid"):
            rows.append([group, len(items), method,
                         *(mean([o.hits[f"{method} {k}"] for o in items]) for k in keys)])
    print_table(f"LoCoMo dev, fill {fill} (embeddings: {embedder}; load {load_s:.0f} s)",
                ["questions", "n", "method", "evidence in prompt", *keys[1:]], rows)
    for method, values in lat.items():
        print(f"fill {fill}: {method} recall() p50 {percentile(values, 50):.1f} ms, "
              f"p95 {percentile(values, 95):.1f} ms over {len(values)} queries")
