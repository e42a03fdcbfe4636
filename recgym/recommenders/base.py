"""The black-box recommender contract: text queries in, ranked catalog positions out.

Envs, rewards and agents only ever see what ``search`` returns, so any ranking system (BM25, a dense retriever, a
production API behind a client) can back an env by implementing these two methods.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

import numpy as np

from recgym.data.types import Catalog

PAD = -1
"""Position value that pads a ranking shorter than k (no more matching items)."""


@runtime_checkable
class Recommender(Protocol):
    """Anything that indexes a catalog once and ranks it for a batch of text queries.

    ``search`` returns ``(positions, scores)``, both ``(len(queries), k)`` (or fewer columns when the catalog has
    fewer than k items): ``positions[i, r]`` is the catalog
    position (index into ``catalog.item_ids``) of the item at rank ``r`` for query ``i``, ``PAD`` (-1) past the end of
    a short ranking, with ``scores`` ``-inf`` there. Empty or all-stopword queries get an all-``PAD`` row, never an
    exception.
    """

    def index(self, catalog: Catalog) -> None: ...

    def search(self, queries: Sequence[str], k: int) -> tuple[np.ndarray, np.ndarray]: ...


def empty_results(n: int, k: int) -> tuple[np.ndarray, np.ndarray]:
    """An all-padding result block: what a batch of unanswerable queries gets."""
    return np.full((n, k), PAD, dtype=np.int64), np.full((n, k), -np.inf, dtype=np.float32)


def check_search_args(queries: Sequence[str], k: int) -> None:
    if isinstance(queries, str):
        raise TypeError("search() takes a sequence of query strings, not a single str; wrap it in a list")
    if not isinstance(k, (int, np.integer)) or k < 1:
        raise ValueError(f"k must be a positive int, got {k!r}")


def top_k(scores: np.ndarray, k: int, min_score: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise top-k of a dense ``(n, m)`` score block, best first (ties broken by lower position).

    With ``min_score``, items scoring ``<= min_score`` are not results: their slots become ``PAD`` / ``-inf``
    (e.g. ``min_score=0`` for a lexical scorer where 0 means "shares nothing with the query").
    """
    scores = np.asarray(scores)
    k = min(k, scores.shape[1])
    part = np.argpartition(-scores, k - 1, axis=1)[:, :k]
    part_scores = np.take_along_axis(scores, part, axis=1)
    order = np.lexsort((part, -part_scores), axis=1)
    positions = np.take_along_axis(part, order, axis=1)
    best = np.take_along_axis(part_scores, order, axis=1)
    if min_score is not None:
        miss = best <= min_score
        positions = np.where(miss, PAD, positions)
        best = np.where(miss, -np.inf, best).astype(np.float32)
    return positions, best
