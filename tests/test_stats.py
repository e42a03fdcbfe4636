"""``recgym.stats``: seeded BCa bootstrap intervals of a mean and of a paired difference, exact on degenerate data;
and ``compare`` on hand-made ``evaluate``-shaped results."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from recgym.agents import compare
from recgym.stats import N_RESAMPLES, excludes_zero, mean_ci, paired_diff_ci


def skewed_scores(n: int, seed: int = 1) -> np.ndarray:
    """NDCG-like per-example scores: bounded in [0, 1], most near 0 (a Beta(0.5, 2) draw)."""
    return np.random.default_rng(seed).beta(0.5, 2.0, size=n)


def result(values: dict[str, list[float]], ids: list[str] | None = None) -> dict:
    """A hand-made ``evaluate`` result: the per-example records and the keys it averages (with their CI)."""
    n = len(next(iter(values.values())))
    ids = ids or [f"q{i}" for i in range(n)]
    records = [{"index": i, "example_id": ids[i], **{k: v[i] for k, v in values.items()}} for i in range(n)]
    return {**{k: float(np.mean(v)) for k, v in values.items()},
            "ci": {k: list(mean_ci(v)[1:]) for k, v in values.items()}, "records": records}


def test_ci_contains_the_mean_and_narrows_as_n_grows() -> None:
    small, large = skewed_scores(20), skewed_scores(2000)
    (m_small, lo_small, hi_small), (m_large, lo_large, hi_large) = mean_ci(small), mean_ci(large)
    assert m_small == pytest.approx(np.mean(small)) and m_large == pytest.approx(np.mean(large))
    assert lo_small < m_small < hi_small and lo_large < m_large < hi_large
    # the width shrinks like 1/sqrt(n): 100x the examples, about a tenth of the width
    assert 5 < (hi_small - lo_small) / (hi_large - lo_large) < 20
    assert lo_large < 0.2 < hi_large  # Beta(0.5, 2) has mean 0.5 / 2.5 = 0.2
    assert 0.0 <= lo_small and hi_small <= 1.0  # BCa keeps to values a mean of [0, 1] scores can take


def test_ci_is_seeded_and_respects_the_confidence() -> None:
    scores = skewed_scores(200)
    assert mean_ci(scores) == mean_ci(scores.tolist()) == mean_ci(scores, seed=0)
    assert mean_ci(scores, seed=1) != mean_ci(scores)
    _, lo95, hi95 = mean_ci(scores)
    _, lo80, hi80 = mean_ci(scores, confidence=0.8)
    assert lo95 < lo80 < hi80 < hi95


def test_two_point_sample_by_hand() -> None:
    # resample means of [0, 1] are 0, 0.5, 1 with probabilities 1/4, 1/2, 1/4: the 95% interval spans both ends
    assert mean_ci([0.0, 1.0]) == (0.5, 0.0, 1.0)


@pytest.mark.parametrize("values", [[0.3] * 50, [0.7], [0.0] * 2, [1e6] * 7])
def test_degenerate_data_gives_the_exact_interval_without_warnings(values: list[float]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # scipy's BCa would warn (DegenerateDataWarning) and return NaN here
        mean, lo, hi = mean_ci(values)
    assert mean == lo == hi == pytest.approx(values[0])  # np.mean of 50 x 0.3 is 0.30000000000000004


def test_bad_arguments_raise() -> None:
    with pytest.raises(ValueError, match="at least one value"):
        mean_ci([])
    with pytest.raises(ValueError, match=f">= {N_RESAMPLES}"):
        mean_ci([0.0, 1.0], n_resamples=100)
    with pytest.raises(ValueError, match="confidence"):
        mean_ci([0.0, 1.0], confidence=95)
    with pytest.raises(ValueError, match="same length"):
        paired_diff_ci([0.0, 1.0], [0.0])


def test_paired_constant_shift_is_exact() -> None:
    a = skewed_scores(100)
    diff, lo, hi = paired_diff_ci(a, a + 0.1)
    assert diff == pytest.approx(-0.1) and lo == hi == diff
    assert excludes_zero(lo, hi)


def test_pairing_removes_the_shared_example_variation() -> None:
    a = skewed_scores(300)
    b = a + np.random.default_rng(2).normal(0.02, 0.01, size=a.size)  # b: a little better on every example
    diff, lo, hi = paired_diff_ci(b, a)
    _, lo_a, hi_a = mean_ci(a)
    assert lo < diff < hi and excludes_zero(lo, hi) and lo > 0.015
    # one mean's own interval is over 10x wider: unpaired, the examples' spread would hide the 0.02 gain
    assert (hi - lo) < (hi_a - lo_a) / 10


def test_excludes_zero() -> None:
    assert excludes_zero(0.01, 0.2) and excludes_zero(-0.3, -0.1)
    assert not excludes_zero(-0.1, 0.2) and not excludes_zero(0.0, 0.0) and not excludes_zero(0.0, 0.1)


def test_compare_hand_made_results() -> None:
    a = result({"ndcg@10": [0.5, 0.2, 0.9, 0.0], "reward": [1.0, 0.0, 1.0, 0.0]})
    b = result({"ndcg@10": [0.4, 0.1, 0.8, -0.1], "reward": [1.0, 0.0, 1.0, 0.0], "format_ok": [1.0] * 4})
    diff = compare(a, b)
    assert set(diff) == {"ndcg@10", "reward", "ci", "excludes_zero", "n"}  # only the keys both averaged
    assert diff["n"] == 4
    assert diff["ndcg@10"] == pytest.approx(0.1) and diff["ci"]["ndcg@10"] == [diff["ndcg@10"]] * 2
    assert diff["reward"] == 0.0 and diff["ci"]["reward"] == [0.0, 0.0]
    assert diff["excludes_zero"] == {"ndcg@10": True, "reward": False}
    same = compare(a, a)
    assert all(same[k] == 0.0 and same["ci"][k] == [0.0, 0.0] for k in ("ndcg@10", "reward"))


def test_compare_needs_the_same_examples_in_the_same_order() -> None:
    a = result({"reward": [0.1, 0.2, 0.3]})
    with pytest.raises(ValueError, match=r"example 1 is 'q1' in the first and 'x' in the second"):
        compare(a, result({"reward": [0.1, 0.2, 0.3]}, ids=["q0", "x", "q2"]))
    with pytest.raises(ValueError, match="different lengths: 3 vs 2"):
        compare(a, result({"reward": [0.1, 0.2]}))
    with pytest.raises(ValueError, match="records"):
        compare(a, {k: v for k, v in a.items() if k != "records"})
