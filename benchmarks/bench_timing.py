"""Timing shared by the benchmark scripts: each peer measured in the same process, interleaved, best of N.

Interleaving makes background load (this machine is shared) hit every peer alike, so their ratio stays meaningful
when the absolute numbers do not.
"""

from __future__ import annotations

import time
from collections.abc import Callable


def best_times(fns: dict[str, Callable[[], object]], repeats: int, warm: bool = True) -> dict[str, float]:
    """Best wall time in seconds of each function over ``repeats`` interleaved passes (after one warm-up pass of
    each, which fills caches and starts thread pools, unless ``warm`` is False)."""
    if warm:
        for fn in fns.values():
            fn()
    times: dict[str, list[float]] = {name: [] for name in fns}
    for _ in range(repeats):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            times[name].append(time.perf_counter() - start)
    return {name: min(t) for name, t in times.items()}


def best_rates(
    fns: dict[str, Callable[[], object]], n_queries: int, repeats: int, warm: bool = True
) -> dict[str, float]:
    """Queries per second of each function that serves ``n_queries`` per call (see :func:`best_times`)."""
    return {name: n_queries / t for name, t in best_times(fns, repeats, warm).items()}
