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

import hashlib
import inspect
import os
import random
import shutil
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


CACHE = Path.home() / ".cache" / "kith-bench" / "memory-scale"


def parse_fill(fill: str) -> list[tuple[str, int]]:
    """``none``, ``same:N``, ``other:N``, or parts joined by ``+`` (``same:100000+other:500000``:
    each asker 100k of their own in a store of about 1M)."""
    parts = []
    for part in fill.split("+"):
        mode, _, size = part.partition(":")
        if mode not in ("none", "same", "other"):
            raise ValueError(f"unknown fill {part!r}")
        parts.append((mode, int(size or 0)))
    return parts


def _cache_file(path: Path, fill: str, seed: int) -> Path:
    """The filled database for these inputs: the data file, the fill, the memory schema and
    index code, and this fill code (a change to any of them builds a new one)."""
    import core.memory.schema
    import core.memory.terms

    digest = hashlib.sha1(f"{path.resolve()}:{path.stat().st_size}:{fill}:{seed}".encode())
    for source in (inspect.getsource(core.memory.schema), inspect.getsource(core.memory.terms),
                   inspect.getsource(fill_rows), inspect.getsource(bulk_add),
                   inspect.getsource(_fill)):
        digest.update(source.encode())
    return CACHE / f"{fill.replace(':', '-').replace('+', '_')}-{digest.hexdigest()[:12]}.db"


async def _fill(store: SQLiteStore, dialogues: Sequence[Dialogue], turn_vecs: dict[str, Any],
                vectors: dict[str, Any], fill: str, seed: int) -> None:
    """Each dialogue's turns as its person's memories, then the fill."""
    for d in dialogues:
        person = await store.person_for("bench", Sender(f"p-{d.name}", "Me"))
        for turn, vector in zip(d.turns, turn_vecs[d.name], strict=True):
            await store.memories.add_memory(NewMemory(
                person, turn.text, MemoryKind.FACT,
                Source(turn.dia_id, "bench", "me", turn.at), 0.9,
                vector=vector.tolist()), turn.at)
        for mode, count in parse_fill(fill):
            if mode == "same" and count:
                others = [o for o in dialogues if o is not d]
                bulk_add(store, person, fill_rows(d, others, vectors, count, seed))
    for mode, count in parse_fill(fill):
        if mode == "other" and count:
            stranger = await store.person_for("bench", Sender("stranger", "Other"))
            per = count // len(dialogues)
            for n, d in enumerate(dialogues):
                others = [o for o in dialogues if o is not d]
                for part in range(0, per, 100_000):  # bounded memory per call
                    bulk_add(store, stranger, fill_rows(
                        d, others, vectors, min(100_000, per - part), seed + n + 7919 * part))
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")


async def _people(store: SQLiteStore, dialogues: Sequence[Dialogue],
                  ) -> dict[str, tuple[str, dict[str, str]]]:
    """Each dialogue's person and their memories' dialogue turn ids (the source inbound)."""
    people = {}
    for d in dialogues:
        person = await store.person_for("bench", Sender(f"p-{d.name}", "Me"))
        rows = store.db.execute(
            "SELECT id, source_inbound FROM memories INDEXED BY memories_person "
            "WHERE person_id = ? AND superseded_by IS NULL AND source_inbound != 'fill'",
            (person,)).fetchall()
        people[d.name] = (person, {r[0]: r[1] for r in rows})
    return people


class Timed:
    """The memory store with each call's time recorded by method (the recall's stages)."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self.stages: dict[str, float] = {}

    def __getattr__(self, name: str) -> Any:
        method = getattr(self._store, name)

        async def timed(*args: Any, **kwargs: Any) -> Any:
            t0 = time.perf_counter()
            try:
                return await method(*args, **kwargs)
            finally:
                self.stages[name] = self.stages.get(name, 0.0) + (time.perf_counter() - t0) * 1000
        return timed


async def run_fill(path: Path, embedder: Embedder, fill: str, seed: int = 3,
                   cache: bool = True) -> None:
    dialogues = load(path)
    turn_vecs = {d.name: embedder([t.text for t in d.turns]) for d in dialogues}
    vectors = {t.dia_id + d.name: v for d in dialogues
               for t, v in zip(d.turns, turn_vecs[d.name], strict=True)}
    outcomes: list[Outcome] = []
    lat: dict[str, list[float]] = defaultdict(list)
    cpu: dict[str, list[float]] = defaultdict(list)  # both threads: the load does not count
    stages: dict[str, list[float]] = defaultdict(list)
    started = time.perf_counter()
    cached = _cache_file(path, fill, seed) if cache else None
    with tempfile.TemporaryDirectory() as tmp:
        db_path = Path(tmp) / "scale.db"
        reused = cached is not None and cached.exists()
        if reused:
            assert cached is not None
            shutil.copyfile(cached, db_path)
        store = SQLiteStore(db_path, synchronous="OFF")
        await store.open()
        if not reused:
            await _fill(store, dialogues, turn_vecs, vectors, fill, seed)
            if cached is not None:
                cached.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(db_path, cached.with_suffix(".part"))
                cached.with_suffix(".part").rename(cached)
        people = await _people(store, dialogues)
        rows = store.db.execute("SELECT count(*) FROM memories").fetchone()[0]
        load_s = time.perf_counter() - started
        load_avg = [os.getloadavg()[0]]
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
                    timed = Timed(store.memories)
                    c0, t0 = time.process_time(), time.perf_counter()
                    fits = await recall(timed, query)
                    lat[method].append((time.perf_counter() - t0) * 1000)
                    cpu[method].append((time.process_time() - c0) * 1000)
                    for stage, ms in timed.stages.items():
                        stages[f"{method} {stage}"].append(ms)
                    got = {dia.get(m.id) for m in fits}
                    out.hits[f"{method} in prompt"] = float(bool(got & q.evidence))
                    order = [dia.get(i) for i in (await ranked(store.memories, query))[:50]]
                    for k in KS:
                        out.hits[f"{method} any@{k}"] = float(bool(set(order[:k]) & q.evidence))
                outcomes.append(out)
            load_avg.append(os.getloadavg()[0])
        await store.close()
    _report(fill, outcomes, lat, load_s, embedder.name)
    for method, values in cpu.items():
        print(f"fill {fill}: {method} recall() CPU p50 {percentile(values, 50):.1f} ms, "
              f"p95 {percentile(values, 95):.1f} ms (process time: not inflated by the load)")
    print(f"fill {fill}: {rows:,} memories in the store ({'reused' if reused else 'built'}"
          f"{': ' + str(cached) if cached else ''}); load average during the queries "
          f"{min(load_avg):.1f}-{max(load_avg):.1f}")
    print_table(f"fill {fill}: recall() stages, ms per query (the store's calls)",
                ["stage", "p50", "p95", "max"],
                [[name, percentile(v, 50), percentile(v, 95), max(v)]
                 for name, v in sorted(stages.items())])


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
