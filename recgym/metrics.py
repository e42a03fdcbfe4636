"""Ranking metrics at cutoff k, vectorised over a batch of rankings.

Every function takes a ``gains`` matrix: ``gains[i, r]`` is the graded relevance of the item at rank ``r`` of ranking
``i`` (0 for irrelevant items and for padding past the end of a short ranking), plus what the ideal needs: the
sorted gains of each example's unique relevant set (NDCG) or its relevant count (Recall). ``relevance_at_ranks`` builds
the matrix from recommender output. Conventions:

- NDCG: DCG = sum_r gain_r / log2(r + 2); IDCG from the example's *unique* relevant items sorted by gain (the Rec-R1
  reference code built IDCG from a target list that could hold duplicates, which inflates it; we don't).
- Recall@k: relevant items retrieved in the top k / number of relevant items (items with gain > 0).
- MRR@k: 1 / rank of the first relevant item in the top k, else 0. HitRate@k: 1 if any relevant item is in the top k.
An example with no relevant item scores 0 on every metric.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

METRICS: tuple[str, ...] = ("ndcg", "recall", "mrr", "hit")


def _discounts(k: int) -> np.ndarray:
    return 1.0 / np.log2(np.arange(2, k + 2, dtype=np.float64))


Relevance = Mapping[int, float] | tuple[np.ndarray, np.ndarray]
"""One example's relevant items: ``{position: gain}``, or the same as ``(positions, gains)`` arrays (faster when an
env scores the same example many times; see :func:`relevance_arrays`)."""


def relevance_arrays(relevant: Mapping[int, float]) -> tuple[np.ndarray, np.ndarray]:
    """``{position: gain}`` as ``(positions int64, gains float64)`` arrays."""
    positions = np.fromiter(relevant.keys(), dtype=np.int64, count=len(relevant))
    gains = np.fromiter(relevant.values(), dtype=np.float64, count=len(relevant))
    return positions, gains


def _flatten(relevant: Sequence[Relevance]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Batch sizes plus all positions and gains, concatenated in example order."""
    arrays = [r if isinstance(r, tuple) else relevance_arrays(r) for r in relevant]
    sizes = np.fromiter((len(p) for p, _ in arrays), dtype=np.int64, count=len(arrays))
    if not arrays or sizes.sum() == 0:
        return sizes, np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float64)
    return sizes, np.concatenate([p for p, _ in arrays]), np.concatenate([g for _, g in arrays])


def relevance_at_ranks(ranked: np.ndarray, relevant: Sequence[Relevance]) -> np.ndarray:
    """Gains of ranked items: ``ranked[i, r]`` is a catalog position (``-1`` = padding), ``relevant[i]`` gives
    positions' gains. Returns float64 ``(n, K)``. A position appearing twice in one ranking counts once."""
    ranked = np.asarray(ranked, dtype=np.int64)
    if ranked.ndim != 2 or ranked.shape[0] != len(relevant):
        raise ValueError(f"ranked must be (n, K) with n == len(relevant) == {len(relevant)}, got {ranked.shape}")
    return _gains_at_ranks(ranked, *_flatten(relevant))


def _gains_at_ranks(ranked: np.ndarray, sizes: np.ndarray, positions: np.ndarray, values: np.ndarray) -> np.ndarray:
    n, depth = ranked.shape
    gains = np.zeros((n, depth), dtype=np.float64)
    if len(positions) == 0 or depth == 0:
        return gains
    # one sorted key space for the whole batch: (row, position) -> row * width + position
    width = int(max(ranked.max(initial=-1), positions.max())) + 2
    keys = np.repeat(np.arange(n, dtype=np.int64), sizes) * width + positions
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    probe = np.arange(n, dtype=np.int64)[:, None] * width + ranked
    slot = np.clip(np.searchsorted(keys, probe), 0, len(keys) - 1)
    hit = (keys[slot] == probe) & (ranked >= 0)
    gains[hit] = values[slot[hit]]
    # a duplicated id in one ranking earns its gain once, at its first (best) rank; only hits can matter, and
    # recommenders rarely repeat ids, so check the few hit keys before doing any per-row work
    hit_keys = probe[hit]
    if len(np.unique(hit_keys)) < len(hit_keys):
        rows, cols = np.nonzero(hit)
        _, first = np.unique(hit_keys, return_index=True)  # row-major order: the first index is the best rank
        repeated = np.ones(len(hit_keys), dtype=bool)
        repeated[first] = False
        gains[rows[repeated], cols[repeated]] = 0.0
    return gains


def _padded_gains(sizes: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Each example's positive gains, sorted descending, in a zero-padded ``(n, max_relevant)`` matrix."""
    width = int(sizes.max(initial=0))
    out = np.zeros((len(sizes), max(width, 1)), dtype=np.float64)
    if width:
        out[np.arange(width)[None, :] < sizes[:, None]] = np.maximum(values, 0.0)
        out = -np.sort(-out, axis=1)
    return out


def ideal_gains(relevant: Sequence[Relevance], k: int) -> np.ndarray:
    """Each example's unique positive gains sorted descending, truncated/zero-padded to ``(n, k)``."""
    sizes, _, values = _flatten(relevant)
    return _fit(_padded_gains(sizes, values), k)


def _fit(matrix: np.ndarray, k: int) -> np.ndarray:
    """The first k columns, zero-padded to k."""
    matrix = matrix[:, :k]
    return np.pad(matrix, ((0, 0), (0, k - matrix.shape[1])))


def _check(gains: np.ndarray, k: int) -> np.ndarray:
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    gains = np.asarray(gains, dtype=np.float64)
    if gains.ndim != 2:
        raise ValueError(f"gains must be a 2-d (n, K) array, got shape {gains.shape}")
    return gains[:, :k]


def _discounted_sums(gains: np.ndarray, disc: np.ndarray) -> np.ndarray:
    """``gains @ disc`` per row, added strictly left to right. A matrix product lets BLAS pick its kernel and
    summation order by the number of rows, so a ranking's DCG (and a reward) changed in the last bit with the size
    of the batch it was scored in; a running sum along each row does the same additions whatever the batch."""
    if gains.shape[1] == 0:
        return np.zeros(gains.shape[0], dtype=np.float64)
    return np.cumsum(gains * disc[: gains.shape[1]], axis=1)[:, -1]


def ndcg_at_k(gains: np.ndarray, ideal: np.ndarray, k: int) -> np.ndarray:
    """NDCG@k per row; ``ideal`` is ``ideal_gains(relevant, k)`` (or any (n, >=k) array of sorted ideal gains).
    Each row's value is independent of the other rows (bit for bit)."""
    g = _check(gains, k)
    disc = _discounts(k)
    dcg = _discounted_sums(g, disc)
    ideal = np.asarray(ideal, dtype=np.float64)[:, :k]
    idcg = _discounted_sums(ideal, disc)
    return np.divide(dcg, idcg, out=np.zeros_like(dcg), where=idcg > 0)


def recall_at_k(gains: np.ndarray, num_relevant: np.ndarray, k: int) -> np.ndarray:
    """Recall@k per row: relevant items (gain > 0) in the top k over ``num_relevant``."""
    hits = (_check(gains, k) > 0).sum(axis=1).astype(np.float64)
    n = np.asarray(num_relevant, dtype=np.float64)
    return np.divide(hits, n, out=np.zeros_like(hits), where=n > 0)


def mrr_at_k(gains: np.ndarray, k: int) -> np.ndarray:
    """Reciprocal rank of the first relevant item within the top k (0 when none)."""
    rel = _check(gains, k) > 0
    first = rel.argmax(axis=1)
    return np.where(rel.any(axis=1), 1.0 / (first + 1.0), 0.0)


def hit_at_k(gains: np.ndarray, k: int) -> np.ndarray:
    """1.0 when any relevant item is within the top k, else 0.0."""
    return (_check(gains, k) > 0).any(axis=1).astype(np.float64)


def compute_metrics(
    ranked: np.ndarray,
    relevant: Sequence[Relevance],
    ks: Sequence[int] = (10, 100),
    metrics: Sequence[str] = ("ndcg", "recall"),
) -> dict[str, np.ndarray]:
    """All requested ``metric@k`` for a batch: ``{"ndcg@10": array(n), ...}``.

    ``ranked`` holds catalog positions (``-1`` pads short rankings); ``relevant[i]`` gives positions' gains
    (a mapping or ``(positions, gains)`` arrays).
    Rankings shorter than k are treated as zero-padded.
    """
    unknown = sorted(set(metrics) - set(METRICS))
    if unknown:
        raise ValueError(f"unknown metric(s) {unknown}; choose from {METRICS}")
    kmax = max(ks)
    ranked = np.asarray(ranked, dtype=np.int64)
    if ranked.ndim != 2 or ranked.shape[0] != len(relevant):
        raise ValueError(f"ranked must be (n, K) with n == len(relevant) == {len(relevant)}, got {ranked.shape}")
    ranked = _fit(ranked + 1, kmax) - 1  # short rankings padded with -1
    sizes, positions, values = _flatten(relevant)
    gains = _gains_at_ranks(ranked, sizes, positions, values)
    out: dict[str, np.ndarray] = {}
    padded = _padded_gains(sizes, values)
    ideal = _fit(padded, kmax)
    num_rel = (padded > 0).sum(axis=1).astype(np.float64)
    for k in ks:
        for m in metrics:
            if m == "ndcg":
                out[f"ndcg@{k}"] = ndcg_at_k(gains, ideal, k)
            elif m == "recall":
                out[f"recall@{k}"] = recall_at_k(gains, num_rel, k)
            elif m == "mrr":
                out[f"mrr@{k}"] = mrr_at_k(gains, k)
            else:
                out[f"hit@{k}"] = hit_at_k(gains, k)
    return out
