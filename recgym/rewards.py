"""Turning an action string into the query sent to the recommender, and the metric into a reward.

A :class:`RewardPreset` has two halves: ``parse(action, raw_query) -> (query, format_ok)`` and
``reward(format_ok, metric_value) -> float``. Any string is a legal action: empty, huge, non-ASCII or broken JSON
all get a defined (finite) reward, parsed in time linear in its length, and the query handed to the recommender is
valid Unicode of at most ``MAX_QUERY_CHARS`` characters (docs/reliability.md). Presets:

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

# The tags are found one by one and paired by a single left-to-right walk: `<answer>(.*?)</answer>` applied to the
# whole text retried its lazy scan from every opening tag, quadratic in the number of unclosed tags (128 kB of
# `<answer>` took 9 s). Literal tag patterns cannot backtrack; IGNORECASE keeps the regex's case folding (e.g. the
# long s "ſ" matches "s") so the blocks found are exactly those `findall` found.
_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
_CLOSE_LEN = len("</answer>")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


def last_answer_block(action: str) -> str | None:
    """The text inside the last ``<answer>...</answer>`` block, as ``re.findall(r"<answer>(.*?)</answer>", action,
    re.DOTALL | re.IGNORECASE)[-1]`` gives it (each block opens at the first unused ``<answer>`` and closes at the
    next ``</answer>``), in time linear in ``len(action)``; None when there is no complete block."""
    closes = [m.start() for m in _CLOSE.finditer(action)]
    if not closes:
        return None
    block, pos, c = None, 0, 0
    while True:
        opening = _OPEN.search(action, pos)
        if opening is None:
            return block
        start = opening.end()
        while c < len(closes) and closes[c] < start:  # closes only move forward: linear over the whole walk
            c += 1
        if c == len(closes):
            return block
        block, pos = action[start : closes[c]], closes[c] + _CLOSE_LEN


def valid_unicode(text: str) -> str:
    """``text`` with every lone surrogate replaced by U+FFFD (a surrogate pair written as two code points becomes
    its character). ``json.loads('"\\ud800"')`` turns pure-ASCII JSON into a string that no UTF-8 encoder accepts,
    and tokenizers (the dense recommender's among them) raise on it; every query sent to a recommender passes here."""
    if _SURROGATE.search(text) is None:
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def extract_answer_query(action: str) -> str | None:
    """The ``"query"`` string of the last ``<answer>{...}</answer>`` block, or None when there is none or it is not
    a JSON object with a string ``query``."""
    block = last_answer_block(action)
    if block is None:
        return None
    try:
        payload = json.loads(block.strip())
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
            return ("", False) if query is None else (valid_unicode(query[:MAX_QUERY_CHARS]), True)
        if self.name == "plain":
            return valid_unicode(action[:MAX_QUERY_CHARS]), True
        expansion = extract_answer_query(action)
        expansion = action if expansion is None else expansion
        return valid_unicode(f"{raw_query} {expansion}".strip()[:MAX_QUERY_CHARS]), True

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
