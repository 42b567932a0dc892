"""Fusion is never worse than its better input, on the cases its weight is tuned on.

Hypothesis draws sets of queries: random lexical and vector rankings of distractors, with
one relevant item planted at a random rank in either, both or neither list.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from core.memory.fusion import Case, Fusion, fuse, mean_recall, recall_at, tune


@st.composite
def case(draw: st.DrawFn, q: int) -> Case:
    rnd = draw(st.randoms(use_true_random=False))
    pool = [f"q{q}-d{i}" for i in range(30)]
    lexical = rnd.sample(pool, draw(st.integers(0, 25)))
    vectors = rnd.sample(pool, draw(st.integers(0, 25)))
    relevant = f"q{q}-relevant"
    for ranking in (lexical, vectors):
        at = draw(st.one_of(st.none(), st.integers(0, len(ranking))))
        if at is not None:
            ranking.insert(at, relevant)
    return Case(tuple(lexical), tuple(vectors), frozenset({relevant}))


@st.composite
def fixtures(draw: st.DrawFn) -> list[Case]:
    return [draw(case(q)) for q in range(draw(st.integers(1, 12)))]


def vector_recall(cases: list[Case], k: int) -> float:
    return sum(recall_at(c.vectors, c.relevant, k) for c in cases) / len(cases)


@settings(max_examples=60, deadline=None)
@given(fixtures(), st.sampled_from([1, 3, 5, 10]))
def test_tuned_fusion_top_k_is_never_below_the_better_input(cases: list[Case], k: int) -> None:
    share = tune(cases, ks=(k,))
    fused = mean_recall(cases, share, k)
    assert fused >= max(mean_recall(cases, None, k), vector_recall(cases, k)) - 1e-9


@settings(max_examples=30, deadline=None)
@given(fixtures())
def test_tuned_on_several_depths_it_beats_either_input_on_their_sum(cases: list[Case]) -> None:
    share = tune(cases, ks=(5, 10))
    fused = sum(mean_recall(cases, share, k) for k in (5, 10))
    assert fused >= sum(mean_recall(cases, None, k) for k in (5, 10)) - 1e-9
    assert fused >= sum(vector_recall(cases, k) for k in (5, 10)) - 1e-9


def test_at_the_ends_fusion_is_each_input_with_the_other_filling_in() -> None:
    lexical, vectors = ["a", "b"], ["c", "a", "d"]
    for k in (1, 60):
        assert fuse(lexical, vectors, Fusion(0.0, k)) == ["a", "b", "c", "d"]
        assert fuse(lexical, vectors, Fusion(1.0, k)) == ["c", "a", "d", "b"]


def test_equal_weight_fusion_can_lose_to_the_stronger_list_and_tuning_fixes_it() -> None:
    # the stronger lexical list finds it at rank 3; the vector list never does
    cases = [Case((f"r{q}", "x", f"y{q}"), (f"v{q}", f"w{q}", f"u{q}"), frozenset({f"y{q}"}))
             for q in range(4)]
    assert mean_recall(cases, Fusion(0.5, 60), 3) < mean_recall(cases, None, 3) == 1.0
    assert mean_recall(cases, tune(cases, ks=(3,)), 3) == 1.0
