"""Bootstrap statistics for evaluation results: the mean of per-example values with a confidence interval, and the
paired difference of two agents on the same examples with its interval.

Intervals come from :func:`scipy.stats.bootstrap` with the BCa method (bias-corrected and accelerated). BCa is
chosen over the plain percentile interval because ranking metrics are bounded and skewed (most queries score near 0,
a few near 1), and BCa corrects the percentile interval's bias and skew with second-order accurate coverage. BCa is
undefined on degenerate data (every value equal, or a single value: scipy warns and returns NaN), so such data is
answered directly with the exact interval ``[v, v]``: no resample can differ from the sample there.

Every interval is seeded (``seed``), so the same values always give the same interval.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

CONFIDENCE = 0.95
N_RESAMPLES = 2000
"""Default and minimum number of bootstrap resamples: fewer make the interval's ends noticeably unstable."""
SEED = 0
DESCRIPTION = f"{CONFIDENCE:.0%} bootstrap CI over examples (BCa, {N_RESAMPLES:,} resamples, seed {SEED})"
"""How the default intervals were made, for table captions."""
_MAX_CELLS = 1 << 22  # resampled values held at once (32 MiB of float64): bounds memory on large splits
_RELATIVE_TIE = 1e-12  # a spread this small relative to the values is float rounding, not variation


def mean_ci(
    values: Sequence[float] | np.ndarray,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """``(mean, lo, hi)``: the mean of ``values`` and its ``confidence`` bootstrap interval (BCa, seeded).

    ``mean`` is ``np.mean(values)``. Degenerate data (one value, or all values equal up to float rounding) gives
    ``(mean, mean, mean)``: the interval ``[v, v]`` of the one value ``v`` there is.
    """
    sample = np.asarray(values, dtype=float).ravel()
    if sample.size == 0:
        raise ValueError("mean_ci needs at least one value")
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    if n_resamples < N_RESAMPLES:
        raise ValueError(f"n_resamples must be >= {N_RESAMPLES}, got {n_resamples}")
    mean = float(np.mean(sample))
    if _is_degenerate(sample):
        return mean, mean, mean
    from scipy.stats import bootstrap  # imported on first use: keeps `import recgym` light

    result = bootstrap(
        (sample,),
        np.mean,
        n_resamples=n_resamples,
        batch=max(1, min(n_resamples, _MAX_CELLS // sample.size)),
        confidence_level=confidence,
        method="BCa",
        vectorized=True,
        rng=np.random.default_rng(seed),
    )
    lo, hi = result.confidence_interval
    return mean, float(lo), float(hi)


def paired_diff_ci(
    a: Sequence[float] | np.ndarray,
    b: Sequence[float] | np.ndarray,
    confidence: float = CONFIDENCE,
    n_resamples: int = N_RESAMPLES,
    seed: int = SEED,
) -> tuple[float, float, float]:
    """``(diff, lo, hi)``: the mean of ``a - b`` over paired examples (``a[i]`` and ``b[i]`` measured on the same
    example) and its bootstrap interval.

    Resampling the per-example differences is the paired bootstrap: each resample keeps an example's two values
    together, so the example-to-example variation both agents share cancels out of the interval.
    """
    a, b = np.asarray(a, dtype=float).ravel(), np.asarray(b, dtype=float).ravel()
    if a.shape != b.shape:
        raise ValueError(f"paired samples must have the same length, got {a.size} and {b.size}")
    return mean_ci(a - b, confidence, n_resamples, seed)


def excludes_zero(lo: float, hi: float) -> bool:
    """Whether the interval ``[lo, hi]`` lies wholly on one side of 0 (the difference is resolved at its level)."""
    return lo > 0.0 or hi < 0.0


def _is_degenerate(sample: np.ndarray) -> bool:
    scale = max(1.0, float(np.max(np.abs(sample))))
    return sample.size == 1 or float(np.ptp(sample)) <= _RELATIVE_TIE * scale
