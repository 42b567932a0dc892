"""Recall on real multi-session dialogue: LoCoMo, through Kith's own store and recall code.

    python -m bench.memory locomo ../shared/data/locomo-dev/locomo-dev.json

The dataset (CC BY-NC 4.0, benchmarks only) is read from the path given and never copied.
Each turn is stored as one memory ("Speaker: text", dated by its session); each question is
asked after the last session. For every question we rank with lexical (FTS5 BM25), vectors
(the embedder), fused (weighted RRF at the tuned vector share, and at 0.5 — the old equal
weights) and, given ``--rerank-url``, reranked by the server's /v1/rerank; recall@k is the
share of the question's evidence turns in the top k. The vector share is tuned on all five
conversations (what ships) and, to be honest about over-fitting, leave-one-conversation-out.
"""

from __future__ import annotations

import json
import re
import tempfile
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.common import mean, print_table
from bench.memory.embed import Embedder
from core.events import Sender
from core.memory.fusion import Case, Fusion, fuse, recall_at, tune
from core.memory.model import MemoryKind, NewMemory, Source, Visibility
from core.memory.recall import FUSION, RecallQuery, ranked, recall
from core.memory.rerank import HTTPReranker, RerankError
from core.store.sqlite import SQLiteStore

KS = (5, 10, 50)
POOL = 50
CATEGORIES = {1: "multi-hop", 2: "temporal", 3: "open-domain", 4: "single-hop",
              5: "adversarial"}


@dataclass(frozen=True, slots=True)
class Turn:
    dia_id: str
    text: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Question:
    text: str
    evidence: frozenset[str]
    category: int


@dataclass(frozen=True, slots=True)
class Dialogue:
    name: str
    turns: tuple[Turn, ...]
    questions: tuple[Question, ...]


def _when(raw: str) -> datetime:
    return datetime.strptime(raw.strip(), "%I:%M %p on %d %B, %Y").replace(tzinfo=UTC)


def load(path: Path) -> list[Dialogue]:
    data: list[dict[str, Any]] = json.loads(path.read_text())
    out = []
    for sample in data:
        conv = sample["conversation"]
        turns: list[Turn] = []
        for key in sorted((k for k in conv if re.fullmatch(r"session_\d+", k)),
                          key=lambda k: int(k.split("_")[1])):
            at = _when(conv[f"{key}_date_time"])
            for n, t in enumerate(conv[key]):
                text = f"{t['speaker']}: {t['text']}"
                if t.get("blip_caption"):
                    text += f" [shares a photo: {t['blip_caption']}]"
                turns.append(Turn(t["dia_id"], text, at + timedelta(seconds=n)))
        known = {t.dia_id for t in turns}
        questions = []
        for qa in sample["qa"]:
            evidence = frozenset(e.strip() for e in qa.get("evidence", []) if e.strip() in known)
            if evidence:
                questions.append(Question(qa["question"], evidence, int(qa["category"])))
        out.append(Dialogue(str(sample.get("sample_id", len(out))), tuple(turns),
                            tuple(questions)))
    return out


@dataclass
class Ranked:
    """Per question of one dialogue: each method's ranking as dia_ids, and the fit."""

    question: Question
    dialogue: str
    lexical: list[str]
    vectors: list[str]
    reranked: list[str] | None = None
    fit: int = 0
    fit_hits: float = 0.0


async def rank_dialogue(store: SQLiteStore, dialogue: Dialogue, embedder: Embedder,
                        reranker: HTTPReranker | None) -> list[Ranked]:
    person = await store.person_for("bench", Sender(f"p-{dialogue.name}", "Me"))
    vis = Visibility(owner=person)
    vectors = embedder([t.text for t in dialogue.turns])
    dia: dict[str, str] = {}
    for turn, vector in zip(dialogue.turns, vectors, strict=True):
        made = await store.memories.add_memory(NewMemory(
            person, turn.text, MemoryKind.FACT, Source(turn.dia_id, "bench", "me", turn.at),
            0.9, vector=vector.tolist()), turn.at)
        dia[made.id] = turn.dia_id
    now = dialogue.turns[-1].at + timedelta(days=1)
    qvectors = embedder([q.text for q in dialogue.questions])
    out = []
    for q, qv in zip(dialogue.questions, qvectors, strict=True):
        lexical = await store.memories.search_text(vis, q.text, now, POOL)
        by_vec = await store.memories.search_vectors(vis, qv.tolist(), now, POOL)
        r = Ranked(q, dialogue.name, [dia[i] for i in lexical], [dia[i] for i in by_vec])
        # what fits the prompt: the product's recall with its default k and token budget
        fits = await recall(store.memories, RecallQuery(vis, q.text, now, qv.tolist()))
        r.fit = len(fits)
        r.fit_hits = recall_at([dia[m.id] for m in fits], q.evidence, len(fits) or 1)
        if reranker is not None:  # the head of the shipped fusion, reordered
            head = await ranked(store.memories, RecallQuery(vis, q.text, now, qv.tolist()))
            r.reranked = await _rerank(reranker, q.text, head[:20], store, dia)
        out.append(r)
    return out


async def _rerank(reranker: HTTPReranker, query: str, ids: Sequence[str],
                  store: SQLiteStore, dia: dict[str, str]) -> list[str]:
    memories = await store.memories.memories_by_id(ids)
    try:
        scores = await reranker.rerank(query, [m.text for m in memories])
    except RerankError:
        return [dia[m.id] for m in memories]
    order = sorted(range(len(memories)), key=lambda i: -scores[i])
    return [dia[memories[i].id] for i in order]


def _cases(rows: Sequence[Ranked]) -> list[Case]:
    return [Case(tuple(r.lexical), tuple(r.vectors), r.question.evidence) for r in rows]


def _name(f: Fusion) -> str:
    return f"share {f.share:.2f}, k {f.k}"


def _table(rows: list[Ranked], tuned: dict[str, Fusion], title: str) -> None:
    equal = Fusion(0.5, 60)
    methods: dict[str, list[list[str]]] = {
        "lexical": [r.lexical for r in rows], "vectors": [r.vectors for r in rows],
        f"fused, equal ({_name(equal)})": [fuse(r.lexical, r.vectors, equal) for r in rows],
        f"fused, shipped ({_name(FUSION)})": [fuse(r.lexical, r.vectors, FUSION) for r in rows],
        "fused, tuned held-out": [
            fuse(r.lexical, r.vectors, tuned[r.dialogue]) for r in rows],
    }
    if rows and rows[0].reranked is not None:
        methods["reranked (top 20)"] = [r.reranked or [] for r in rows]
    groups: dict[str, list[int]] = defaultdict(list)
    for i, r in enumerate(rows):
        groups[CATEGORIES[r.question.category]].append(i)
        if r.question.category != 5:
            groups["all but adversarial"].append(i)
    table = []
    for group, idx in sorted(groups.items(), key=lambda g: (g[0] != "all but adversarial",
                                                            g[0])):
        for name, ranks in methods.items():
            table.append([group, len(idx), name, *(
                mean([recall_at(ranks[i], rows[i].question.evidence, k) for i in idx])
                for k in KS)])
    print_table(title, ["questions", "n", "method", *(f"recall@{k}" for k in KS)], table)


async def run(path: Path, embedder: Embedder, rerank_url: str | None) -> Fusion:
    dialogues = load(path)
    reranker = HTTPReranker(rerank_url, "rerank") if rerank_url else None
    rows: list[Ranked] = []
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        await store.open()
        for dialogue in dialogues:
            rows += await rank_dialogue(store, dialogue, embedder, reranker)
        await store.close()
    if reranker is not None:
        await reranker.aclose()
    tuned = {"all": tune(_cases(rows))}
    for d in dialogues:  # leave one conversation out
        tuned[d.name] = tune(_cases([r for r in rows if r.dialogue != d.name]))
    turns = sum(len(d.turns) for d in dialogues)
    _table(rows, tuned, f"LoCoMo dev ({len(dialogues)} conversations, {turns} turns stored "
           f"as memories, {len(rows)} questions); embeddings: {embedder.name}")
    held = "; ".join(f"{d.name}: {_name(tuned[d.name])}" for d in dialogues)
    print(f"tuned on all five (recall@5 + @10): {_name(tuned['all'])} (shipped: "
          f"{_name(FUSION)}); tuned on the other four: {held}")
    fit = [r.fit for r in rows]
    print(f"prompt budget (recall_k 8, 400 tokens): {mean(fit):.1f} memories fit on average "
          f"(min {min(fit)}, max {max(fit)}); evidence among them: "
          f"{mean([r.fit_hits for r in rows]):.3f}")
    if reranker is None:
        print("reranked: not measured — no reranking model on this machine "
              "(pass --rerank-url http://HOST:PORT/v1 of a server with /v1/rerank)")
    return tuned["all"]
