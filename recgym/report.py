"""Presenting results: the comparison table of ``evaluate`` (and ``compare``) outputs and the learning curve of a
training run (GRPO or SFT).

Shared by the ``recgym`` CLI and the demo script, so a number looks the same wherever it is printed.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from recgym.fileio import read_jsonl
from recgym.paths import METRICS_FILE
from recgym.stats import excludes_zero

if TYPE_CHECKING:
    from matplotlib.figure import Figure

COLUMNS: dict[str, str] = {
    "ndcg@10": "NDCG@10",
    "ndcg@100": "NDCG@100",
    "recall@10": "Recall@10",
    "recall@100": "Recall@100",
    "format_ok": "format-ok",
    "reward": "reward",
}
"""Result key -> column header, in the default column order (the means ``recgym.agents.evaluate`` returns)."""

MISSING = "-"
ALGORITHM_KEYS: dict[str, str] = {"GRPO": "reward_mean", "SFT": "target_tokens"}
"""Training algorithm -> a key that only its step records hold (GRPO's sampled reward, SFT's target token count)."""


def results_table(
    rows: Mapping[str, Mapping[str, Any]],
    columns: Sequence[str] | Mapping[str, str] | None = None,
    markdown: bool = False,
    digits: int = 4,
    mark_nonzero: bool = False,
) -> str:
    """One row per agent (``rows``: name -> an ``evaluate`` result or any dict of numbers), one column per key.

    Numbers are right-aligned with ``digits`` decimals so agents compare at a glance; a row with a ``ci`` dict (as
    ``evaluate`` and ``compare`` return) shows ``mean [lo, hi]`` for the keys it has an interval for. A key a row
    lacks shows ``-`` (a preset without a format flag, a partial run) rather than failing. ``mark_nonzero=True``
    (for tables of differences) appends ``*`` to each cell whose interval excludes 0. ``markdown=True`` gives a
    GitHub table for reports and READMEs. ``columns``: keys to show (headers from :data:`COLUMNS`), or a key ->
    header mapping; default :data:`COLUMNS`.
    """
    if columns is None:
        columns = COLUMNS
    headers = columns if isinstance(columns, Mapping) else {c: COLUMNS.get(c, c) for c in columns}
    columns = list(headers)
    header = ["agent", *headers.values()]
    body = [
        [str(name), *(estimate_cell(values.get(c), (values.get("ci") or {}).get(c), digits, mark_nonzero)
                      for c in columns)]
        for name, values in rows.items()
    ]
    if markdown:
        lines = [header, ["---", *("---:" for _ in columns)], *body]
        return "\n".join("| " + " | ".join(cell.rstrip() for cell in line) + " |" for line in lines)
    widths = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(line: list[str]) -> str:
        return "  ".join(cell.ljust(w) if i == 0 else cell.rjust(w) for i, (cell, w) in enumerate(zip(line, widths)))

    return "\n".join([fmt(header), "  ".join("-" * w for w in widths), *(fmt(line) for line in body)])


def estimate_cell(value: Any, ci: Sequence[float] | None = None, digits: int = 4, mark_nonzero: bool = False) -> str:
    """One table cell: ``value`` with ``digits`` decimals, ``value [lo, hi]`` when it has an interval ``ci``, and
    with ``mark_nonzero`` a trailing ``*`` when that interval excludes 0 (blank padding otherwise, so numbers stay
    aligned)."""
    text = _cell(value, digits)
    if value is None or ci is None:
        return text
    lo, hi = ci
    text = f"{text} [{_cell(lo, digits)}, {_cell(hi, digits)}]"
    if mark_nonzero:
        text += " *" if excludes_zero(lo, hi) else "  "
    return text


def _cell(value: Any, digits: int) -> str:
    if value is None:
        return MISSING
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, (int, float)):
        return f"{value:.{digits}f}" if math.isfinite(value) else str(value)
    return str(value)


def read_metrics(run_dir: str | os.PathLike[str]) -> list[dict[str, Any]]:
    """The step records of a run's ``metrics.jsonl``; a clear error when there is nothing to read (or a line that
    is not a JSON object: the error names it)."""
    path = Path(run_dir) / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: is {run_dir} the output folder of a `recgym train` run?")
    records = read_jsonl(path)
    if not records:
        raise ValueError(f"{path} is empty: the run has not finished a training step yet")
    return records


def rolling_mean(values: Sequence[float], window: int) -> list[float]:
    """Trailing mean over the last ``window`` values (fewer at the start), so the smoothed curve starts at step 1."""
    out, total = [], 0.0
    for i, value in enumerate(values):
        total += value
        if i >= window:
            total -= values[i - window]
        out.append(total / min(i + 1, window))
    return out


def logged_algorithm(records: Sequence[Mapping[str, Any]]) -> str | None:
    """Which training algorithm logged ``records`` (a key of :data:`ALGORITHM_KEYS`); None when they do not tell."""
    found = [algo for algo, key in ALGORITHM_KEYS.items() if any(key in r for r in records)]
    return found[0] if len(found) == 1 else None


def plot_learning_curve(
    run_dir: str | os.PathLike[str], out: str | os.PathLike[str] | None = None, window: int = 10
) -> Path:
    """Draw a training run's learning curve (:func:`learning_curve`) to a PNG; returns its path (default:
    ``learning_curve.png`` in ``run_dir``)."""
    path = Path(out) if out is not None else Path(run_dir) / "learning_curve.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    learning_curve(run_dir, window).savefig(path, dpi=120)
    return path


def learning_curve(run_dir: str | os.PathLike[str], window: int = 10) -> Figure:
    """The figure of the run's learning curve from ``run_dir/metrics.jsonl``, titled with the algorithm
    that logged it (:func:`logged_algorithm`).

    Top panel: the mean training reward of each step with its rolling mean over ``window`` steps, and the
    validation reward where it was logged. When the run logged the raw query's reward on the same prompts (GRPO's
    ``raw_relative_loss_weight``), the curve is the env reward minus that: a step's few prompts differ a lot in
    difficulty, and the difference shows the trend through that noise. Bottom panel (only when validation ran):
    the validation ranking metrics, which show whether reward gains are ranking gains or format gains.
    """
    from matplotlib.figure import Figure  # no pyplot: no global backend or figure state, renders with Agg
    from matplotlib.ticker import MaxNLocator

    records = read_metrics(run_dir)
    train, curve_label, y_label = training_curve(records)
    relative = y_label != "reward"
    val_keys = [k for k in ("val/ndcg@10", "val/ndcg@100", "val/recall@100") if any(k in r for r in records)]
    has_val = any("val/reward" in r for r in records) or bool(val_keys)

    fig = Figure(figsize=(8, 6.5 if has_val else 4), layout="constrained")
    axes = fig.subplots(2 if has_val else 1, 1, sharex=True, squeeze=False)[:, 0]
    ax = axes[0]
    if train:
        steps, rewards = zip(*train)
        ax.plot(steps, rewards, color="tab:blue", alpha=0.3, linewidth=1, label=curve_label)
        ax.plot(steps, rolling_mean(rewards, window), color="tab:blue", linewidth=2, label=f"rolling mean ({window})")
    _plot_logged(ax, records, "val/reward", "val reward", color="tab:orange")
    if relative:
        ax.axhline(0.0, color="gray", linewidth=1, linestyle="--")
    ax.set_ylabel(y_label)
    algorithm = logged_algorithm(records)
    ax.set_title(f"{algorithm + ' ' if algorithm else ''}learning curve: {Path(run_dir).resolve().name}")
    ax.grid(alpha=0.3)
    ax.legend(loc="best", fontsize="small")
    if has_val:
        for key in val_keys:
            _plot_logged(axes[1], records, key, key)
        axes[1].set_ylabel("validation metric")
        axes[1].grid(alpha=0.3)
        axes[1].legend(loc="best", fontsize="small")
    axes[-1].set_xlabel("training step")
    axes[-1].xaxis.set_major_locator(MaxNLocator(integer=True))
    return fig


def training_curve(records: list[dict[str, Any]]) -> tuple[list[tuple[int, float]], str, str]:
    """``(points, curve label, axis label)`` of a run's training curve: the env reward minus the raw query's on the
    same prompts where the run logged both (``env_reward``, ``raw_reward``), else ``reward_mean``."""
    relative = [r for r in records if "env_reward" in r and "raw_reward" in r]
    if relative:
        points = [(r["step"], r["env_reward"] - r["raw_reward"]) for r in relative]
        return points, "reward - raw query's (step mean)", "reward minus the raw query's"
    return [(r["step"], r["reward_mean"]) for r in records if "reward_mean" in r], "reward (step mean)", "reward"


def _plot_logged(ax: Any, records: list[dict[str, Any]], key: str, label: str, **style: Any) -> None:
    points = [(r["step"], r[key]) for r in records if key in r]
    if points:
        steps, values = zip(*points)
        ax.plot(steps, values, marker="o", linewidth=1.5, label=label, **style)
