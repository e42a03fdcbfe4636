"""Reciprocal rank fusion of two (or more) recommenders."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from recgym.data.types import Catalog
from recgym.recommenders.base import PAD, Recommender, check_search_args, empty_results


class HybridRecommender:
    """Fuse rankings with RRF (Cormack et al., 2009): ``score(d) = sum_r weight_r / (rrf_k + rank_r(d))``.

    Args:
        recommenders: The recommenders to fuse (e.g. BM25 and dense).
        rrf_k: The RRF constant (60 in the original paper).
        depth: How deep each recommender's ranking is read (at least the requested k).
        weights: Optional weight per recommender (default 1 each).
    """

    def __init__(
        self,
        recommenders: Sequence[Recommender],
        rrf_k: float = 60.0,
        depth: int = 1000,
        weights: Sequence[float] | None = None,
    ) -> None:
        if len(recommenders) < 2:
            raise ValueError("HybridRecommender fuses at least two recommenders")
        self.recommenders = list(recommenders)
        self.weights = list(weights) if weights is not None else [1.0] * len(self.recommenders)
        if len(self.weights) != len(self.recommenders):
            raise ValueError("need one weight per recommender")
        self.rrf_k, self.depth = float(rrf_k), int(depth)

    def index(self, catalog: Catalog) -> None:
        for rec in self.recommenders:
            rec.index(catalog)

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]:
        check_search_args(queries, k)
        depth = max(k, self.depth)
        results = [rec.search(queries, depth)[0] for rec in self.recommenders]
        positions, scores = empty_results(len(queries), k)
        ranks = 1.0 / (self.rrf_k + np.arange(1, depth + 1))
        for i in range(len(queries)):
            fused: dict[int, float] = {}
            for w, ranked in zip(self.weights, results):
                for pos, contrib in zip(ranked[i], ranks):
                    if pos == PAD:
                        break
                    fused[int(pos)] = fused.get(int(pos), 0.0) + w * contrib
            if not fused:
                continue
            items = np.fromiter(fused.keys(), dtype=np.int64, count=len(fused))
            vals = np.fromiter(fused.values(), dtype=np.float64, count=len(fused))
            order = np.lexsort((items, -vals))[:k]
            positions[i, : len(order)] = items[order]
            scores[i, : len(order)] = vals[order]
        return positions, scores
