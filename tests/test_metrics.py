"""Ranking metrics on hand-computed rankings, and parity with an independent loop implementation."""

import math

import numpy as np
import pytest

from recgym.metrics import compute_metrics, hit_at_k, ideal_gains, mrr_at_k, ndcg_at_k, recall_at_k, relevance_at_ranks


def test_ndcg_hand_computed_graded():
    # ranking: item 7 (gain 0.1), item 3 (irrelevant), item 5 (gain 1.0)
    ranked = np.array([[7, 3, 5]])
    relevant = [{5: 1.0, 7: 0.1}]
    dcg = 0.1 / math.log2(2) + 0 + 1.0 / math.log2(4)
    idcg = 1.0 / math.log2(2) + 0.1 / math.log2(3)
    out = compute_metrics(ranked, relevant, ks=(3,), metrics=("ndcg", "recall", "mrr", "hit"))
    assert out["ndcg@3"][0] == pytest.approx(dcg / idcg)  # DCG 0.6, IDCG 1.0631
    assert out["ndcg@3"][0] == pytest.approx(0.564391, abs=1e-6)  # (0.1 + 0.5) / (1 + 0.1/log2 3)
    assert out["recall@3"][0] == 1.0
    assert out["mrr@3"][0] == 1.0
    assert out["hit@3"][0] == 1.0


def test_cutoff_and_padding():
    ranked = np.array([[4, 2, -1, -1], [-1, -1, -1, -1]])
    relevant = [{2: 1.0, 9: 1.0}, {1: 1.0}]
    out = compute_metrics(ranked, relevant, ks=(1, 2), metrics=("ndcg", "recall", "mrr"))
    assert out["ndcg@1"].tolist() == [0.0, 0.0]
    # relevant at rank 2 of 2, two relevant items: dcg = 1/log2(3), idcg = 1 + 1/log2(3)
    assert out["ndcg@2"][0] == pytest.approx((1 / math.log2(3)) / (1 + 1 / math.log2(3)))
    assert out["recall@2"].tolist() == [0.5, 0.0]
    assert out["mrr@2"].tolist() == [0.5, 0.0]


def test_duplicate_ids_do_not_inflate():
    # the Rec-R1 reference built IDCG from a target list with duplicates; the unique set is the right ideal
    ranked = np.array([[5, 5, 5]])
    assert compute_metrics(ranked, [{5: 1.0}], ks=(3,))["ndcg@3"][0] == pytest.approx(1.0)
    assert relevance_at_ranks(ranked, [{5: 1.0}]).tolist() == [[1.0, 0.0, 0.0]]


def test_no_relevant_items_scores_zero():
    out = compute_metrics(np.array([[1, 2]]), [{}], ks=(2,), metrics=("ndcg", "recall", "mrr", "hit"))
    assert all(v[0] == 0.0 for v in out.values())


def test_bad_arguments():
    with pytest.raises(ValueError, match="k must be"):
        ndcg_at_k(np.zeros((1, 3)), np.zeros((1, 3)), 0)
    with pytest.raises(ValueError, match="unknown metric"):
        compute_metrics(np.zeros((1, 3), dtype=int), [{}], metrics=("map",))
    with pytest.raises(ValueError, match="n == len"):
        relevance_at_ranks(np.zeros((2, 3), dtype=int), [{}])


def _reference(ranking, rel, k):
    """Independent per-query loops, written from the textbook definitions."""
    seen, dcg, hits, first = set(), 0.0, 0, 0.0
    for r, item in enumerate(ranking[:k]):
        if item in seen or item < 0:
            continue
        seen.add(item)
        g = rel.get(item, 0.0)
        if g > 0:
            dcg += g / math.log2(r + 2)
            hits += 1
            first = first or 1.0 / (r + 1)
    ideal = sorted((g for g in rel.values() if g > 0), reverse=True)[:k]
    idcg = sum(g / math.log2(r + 2) for r, g in enumerate(ideal))
    n_rel = sum(1 for g in rel.values() if g > 0)
    return (dcg / idcg if idcg else 0.0, hits / n_rel if n_rel else 0.0, first, float(hits > 0))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_parity_with_reference_on_random_rankings(seed):
    rng = np.random.default_rng(seed)
    n, depth, n_items = 200, 50, 80
    ranked = np.stack([rng.permutation(n_items)[:depth] for _ in range(n)])
    ranked[rng.random(ranked.shape) < 0.05] = -1  # some padding
    relevant = []
    for _ in range(n):
        items = rng.choice(n_items, size=rng.integers(0, 12), replace=False)
        relevant.append({int(i): float(rng.choice([1.0, 0.1, 0.01])) for i in items})
    for k in (1, 10, 50):
        out = compute_metrics(ranked, relevant, ks=(k,), metrics=("ndcg", "recall", "mrr", "hit"))
        ref = np.array([_reference(list(ranked[i]), relevant[i], k) for i in range(n)])
        np.testing.assert_allclose(out[f"ndcg@{k}"], ref[:, 0], atol=1e-12)
        np.testing.assert_allclose(out[f"recall@{k}"], ref[:, 1], atol=1e-12)
        np.testing.assert_allclose(out[f"mrr@{k}"], ref[:, 2], atol=1e-12)
        np.testing.assert_allclose(out[f"hit@{k}"], ref[:, 3], atol=1e-12)


def test_low_level_functions_agree():
    ranked = np.array([[3, 1, 2]])
    rel = [{1: 1.0, 2: 0.5}]
    gains = relevance_at_ranks(ranked, rel)
    assert ndcg_at_k(gains, ideal_gains(rel, 3), 3)[0] == pytest.approx(
        (1 / math.log2(3) + 0.5 / 2) / (1 + 0.5 / math.log2(3))
    )
    assert recall_at_k(gains, np.array([2]), 2)[0] == 0.5
    assert mrr_at_k(gains, 3)[0] == 0.5
    assert hit_at_k(gains, 1)[0] == 0.0


def test_array_form_of_relevance_equals_mapping_form():
    from recgym.metrics import relevance_arrays

    rng = np.random.default_rng(5)
    ranked = np.stack([rng.permutation(40)[:20] for _ in range(30)])
    relevant = [
        {int(i): float(rng.choice([1.0, 0.1])) for i in rng.choice(40, size=5, replace=False)} for _ in range(30)
    ]
    as_maps = compute_metrics(ranked, relevant, ks=(5, 20))
    as_arrays = compute_metrics(ranked, [relevance_arrays(r) for r in relevant], ks=(5, 20))
    for key in as_maps:
        np.testing.assert_array_equal(as_maps[key], as_arrays[key])


def test_each_rows_metrics_are_independent_of_its_batch_bit_for_bit():
    """Issue #15, defect 3: a matrix product over the batch gave a ranking 1 ulp different NDCG alone and in a batch
    (and so single-env and vector-env rewards differed)."""
    rng = np.random.default_rng(0)
    n, depth, items = 64, 1000, 5000
    ranked = np.stack([rng.permutation(items)[:depth] for _ in range(n)])
    relevant = [
        {int(p): float(g) for p, g in zip(rng.choice(items, 40, replace=False), rng.choice([0.01, 0.1, 1.0], 40))}
        for _ in range(n)
    ]
    for i in range(n):  # the relevant items inside the ranking, where their gains count
        ranked[i, rng.choice(depth, 20, replace=False)] = list(relevant[i])[:20]
    ks, metrics = (10, 100, 1000), ("ndcg", "recall", "mrr", "hit")
    batch = compute_metrics(ranked, relevant, ks=ks, metrics=metrics)
    for size in (1, 3, 7, 32):
        for start in range(0, n, size):
            part = compute_metrics(ranked[start : start + size], relevant[start : start + size], ks=ks, metrics=metrics)
            for key, values in part.items():
                assert np.array_equal(values, batch[key][start : start + size]), (key, size, start)
