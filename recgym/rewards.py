"""Turning an action string into the query sent to the recommender, and the metric into a reward.

A :class:`RewardPreset` has two halves: ``parse(action, raw_query) -> (query, format_ok)`` and
``reward(format_ok, metric_value) -> float``. Any string is a legal action: empty, huge, non-ASCII or broken JSON
all get a defined (finite) reward. Presets:

- ``"recr1"`` -- the paper's format ``<think>...</think><answer>{"query": "..."}</answer>``. The last ``<answer>``
  block must hold a JSON object with a string ``"query"``; the ``<think>`` block is optional (Rec-R1's scorer only
  extracts the answer). Well-formed: ``format_bonus + metric`` (0.1 + NDCG@k); malformed: ``format_penalty`` (-2).
- ``"plain"`` -- the whole action text is the query; reward = metric. Always well-formed.
- ``"expand"`` -- the query is the raw query followed by the action text (query expansion: the raw query is the
  floor and the policy learns which words to add). If the action is in the ``recr1`` answer format its query is
  used as the expansion; otherwise the whole text is. Reward = metric.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass

import numpy as np

MAX_QUERY_CHARS = 4096
"""Queries are cut to this many characters before retrieval: no real query is longer, and it bounds the cost of a
100 kB action. The cut query is what ``info["query"]`` reports."""

_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.DOTALL | re.IGNORECASE)


def extract_answer_query(action: str) -> str | None:
    """The ``"query"`` string of the last ``<answer>{...}</answer>`` block, or None when there is none or it is not
    a JSON object with a string ``query``."""
    blocks = _ANSWER.findall(action)
    if not blocks:
        return None
    try:
        payload = json.loads(blocks[-1].strip())
    except (ValueError, RecursionError):
        return None
    if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
        return None
    return payload["query"]


def format_answer(query: str, think: str = "") -> str:
    """The well-formed ``recr1`` action submitting ``query`` (JSON-escaped)."""
    return f"<think>{think}</think><answer>{json.dumps({'query': query}, ensure_ascii=False)}</answer>"


@dataclass(frozen=True)
class RewardPreset:
    """How an action becomes a query and a metric becomes a reward.

    Attributes:
        name: ``"recr1"``, ``"plain"`` or ``"expand"``.
        format_bonus: Added to the metric when a ``recr1`` action is well-formed (paper: 0.1).
        format_penalty: The reward of a malformed ``recr1`` action (paper: -2).
    """

    name: str = "recr1"
    format_bonus: float = 0.1
    format_penalty: float = -2.0

    def __post_init__(self) -> None:
        if self.name not in PRESETS:
            raise ValueError(f"unknown reward preset {self.name!r}; choose from {sorted(PRESETS)}")

    def parse(self, action: str, raw_query: str) -> tuple[str, bool]:
        """``(query, format_ok)`` for one action. ``raw_query`` is the example's original query/context."""
        if not isinstance(action, str):
            raise TypeError(f"actions must be str, got {type(action).__name__}")
        if self.name == "recr1":
            query = extract_answer_query(action)
            return ("", False) if query is None else (query[:MAX_QUERY_CHARS], True)
        if self.name == "plain":
            return action[:MAX_QUERY_CHARS], True
        expansion = extract_answer_query(action)
        expansion = action if expansion is None else expansion
        return f"{raw_query} {expansion}".strip()[:MAX_QUERY_CHARS], True

    def reward(self, format_ok: bool | np.ndarray, metric: float | np.ndarray) -> np.ndarray:
        """Reward from the format flag and the metric value; elementwise over arrays (a 0-d array for scalars)."""
        metric = np.asarray(metric, dtype=np.float64)
        if self.name == "recr1":
            return np.where(format_ok, self.format_bonus + metric, self.format_penalty)
        return metric

    def action_for(self, query: str) -> str:
        """A well-formed action whose text is ``query``: the answer block for ``recr1``, the text itself otherwise
        (for ``expand`` it is then searched after the raw query). Supervised targets are built with it."""
        return format_answer(query) if self.name == "recr1" else query

    def raw_action(self, raw_query: str) -> str:
        """The action that submits ``raw_query`` unchanged under this preset (what the raw-query baseline plays)."""
        if self.name == "recr1":
            return format_answer(raw_query)
        return "" if self.name == "expand" else raw_query

    @property
    def reward_range(self) -> tuple[float, float]:
        if self.name == "recr1":
            return (min(self.format_penalty, 0.0), 1.0 + self.format_bonus)
        return (0.0, 1.0)


PRESETS = ("recr1", "plain", "expand")


def get_preset(preset: str | RewardPreset) -> RewardPreset:
    """A preset by name, or the given instance unchanged."""
    return preset if isinstance(preset, RewardPreset) else RewardPreset(preset)
