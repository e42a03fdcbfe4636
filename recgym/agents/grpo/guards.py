"""Collapse guard for GRPO: is the policy still exploring, or writing the same completion over and over?

GRPO learns only from the reward spread inside a group; once the G samples of a prompt are (nearly) identical the
group carries no signal and training stalls or degrades: entropy collapse (DAPO, arXiv 2503.14476 sec. 3.1; Cui et
al., "The Entropy Mechanism of RL for Reasoning LMs", arXiv 2505.22617). Token entropy is logged by the update;
this module adds two cheap text-level signals computed from the step's completions and a patience counter.
"""

from __future__ import annotations

import logging
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from recgym.fileio import iter_jsonl

log = logging.getLogger(__name__)


def distinct_fraction(texts: Sequence[str], group_size: int) -> float:
    """Distinct completions per group divided by the group size, averaged over groups (rows ``i*G .. i*G+G-1``
    form group ``i``): 1.0 when every sample differs, ``1/G`` when every group repeats one completion."""
    groups = [texts[i : i + group_size] for i in range(0, len(texts), group_size)]
    return sum(len(set(g)) / len(g) for g in groups) / len(groups)


@dataclass
class CollapseGuard:
    """Tracks ``distinct_frac`` step after step; warns (and asks to stop) after ``patience`` collapsed steps.

    Its state is the previous step's most common completion and the current streak, both logged in each record
    (``top_completion``, ``collapse_streak``), so :meth:`restore` rebuilds it from ``metrics.jsonl`` on resume.
    """

    min_distinct: float
    patience: int
    stop: bool = False
    previous_top: str | None = None
    streak: int = 0

    def observe(self, texts: Sequence[str], group_size: int) -> dict[str, Any]:
        """This step's collapse metrics: ``distinct_frac``, ``top_completion_share`` (share of the completions equal
        to the previous step's most common one; absent on the first step), ``top_completion``, ``collapse_streak``,
        and ``stop_reason`` when training should end."""
        distinct = distinct_fraction(texts, group_size)
        counts = Counter(texts)
        record: dict[str, Any] = {"distinct_frac": distinct}
        if self.previous_top is not None:
            record["top_completion_share"] = counts[self.previous_top] / len(texts)
        self.previous_top = counts.most_common(1)[0][0]  # ties: the first seen, so it is deterministic
        self.streak = self.streak + 1 if distinct < self.min_distinct else 0
        record.update(top_completion=self.previous_top, collapse_streak=self.streak)
        if self.patience and self.streak >= self.patience:
            message = (
                f"policy collapse: distinct_frac < {self.min_distinct} for {self.streak} steps "
                f"(most common completion {self.previous_top!r})"
            )
            if self.streak == self.patience:  # once per collapse, not every step after
                log.warning(message)
                warnings.warn(message, RuntimeWarning, stacklevel=2)
            if self.stop:
                record["stop_reason"] = message
        return record

    def restore(self, metrics_file: str | Path, step: int) -> None:
        """Take the state logged with ``step`` in ``metrics_file`` (a resumed run); nothing if it is not there."""
        path = Path(metrics_file)
        if step <= 0 or not path.is_file():
            return
        for _, record in iter_jsonl(path):
            if record.get("step") == step and "top_completion" in record:
                self.previous_top = record["top_completion"]
                self.streak = int(record.get("collapse_streak", 0))


__all__ = ["CollapseGuard", "distinct_fraction"]
