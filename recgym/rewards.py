"""Turning an action string into the query sent to the recommender, and the metric into a reward.

A reward preset is a strategy (:class:`RewardPreset`, one class per preset, one registry: :data:`PRESETS`,
:func:`register_preset`, :func:`get_preset`) with two halves: ``parse(action, raw_query) -> (query, format_ok)`` and
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
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import ClassVar

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


class RewardPreset(ABC):
    """A reward preset: how an action becomes a query (``parse``) and a metric a reward (``reward``).

    Subclass it, give it a ``name`` and register it with :func:`register_preset` to add a preset: the envs
    (``reward="<name>"``), the CLI's ``--reward`` choices and every agent pick it up from the registry. Subclasses
    implement :meth:`query_of` and :meth:`action_for`; ``parse`` adds the type check, the length cut and the Unicode
    repair every query gets.

    Attributes:
        name: Registry name, e.g. ``"recr1"``.
        default_prompt: Name of the prompt template in ``recgym.prompts.TEMPLATES`` the env uses when given none.
    """

    name: ClassVar[str]
    default_prompt: ClassVar[str] = "paper"

    @abstractmethod
    def query_of(self, action: str, raw_query: str) -> tuple[str, bool]:
        """``(query, format_ok)`` before the cut to ``MAX_QUERY_CHARS`` and the Unicode repair."""

    @abstractmethod
    def action_for(self, query: str, raw_query: str = "") -> str:
        """A well-formed action whose searched query is ``query`` (SFT targets, PRF and rewrite operators use it).
        ``raw_query`` matters where the env adds it itself (``expand``)."""

    def parse(self, action: str, raw_query: str) -> tuple[str, bool]:
        """``(query, format_ok)`` for one action. ``raw_query`` is the example's original query/context."""
        if not isinstance(action, str):
            raise TypeError(f"actions must be str, got {type(action).__name__}")
        query, ok = self.query_of(action, raw_query)
        return valid_unicode(query[:MAX_QUERY_CHARS]), ok

    def reward(self, format_ok: bool | np.ndarray, metric: float | np.ndarray) -> np.ndarray:
        """Reward from the format flag and the metric value; elementwise over arrays (a 0-d array for scalars).
        Default: the metric itself."""
        return np.asarray(metric, dtype=np.float64)

    def raw_action(self, raw_query: str) -> str:
        """The action that submits ``raw_query`` unchanged under this preset (what the raw-query baseline plays)."""
        return self.action_for(raw_query, raw_query)

    @property
    def reward_range(self) -> tuple[float, float]:
        return (0.0, 1.0)


PRESETS: dict[str, type[RewardPreset]] = {}
"""The preset registry: name -> class (instantiated without arguments by :func:`get_preset`)."""


def register_preset(cls: type[RewardPreset]) -> type[RewardPreset]:
    """Register a :class:`RewardPreset` subclass under its ``name`` (usable as a class decorator)."""
    if not (isinstance(cls, type) and issubclass(cls, RewardPreset)):
        raise TypeError(f"register_preset takes a RewardPreset subclass, got {cls!r}")
    name = getattr(cls, "name", None)
    if not isinstance(name, str) or not name:
        raise ValueError(f"{cls.__name__} needs a non-empty str class attribute 'name'")
    PRESETS[name] = cls
    return cls


def preset_names() -> list[str]:
    """Registered preset names, sorted (the CLI's ``--reward`` choices)."""
    return sorted(PRESETS)


def get_preset(preset: str | RewardPreset) -> RewardPreset:
    """A preset instance by registered name, or the given instance unchanged."""
    if isinstance(preset, RewardPreset):
        return preset
    if isinstance(preset, str) and preset in PRESETS:
        return PRESETS[preset]()
    raise ValueError(f"unknown reward preset {preset!r}; choose from {preset_names()}")


@register_preset
@dataclass(frozen=True)
class RecR1Preset(RewardPreset):
    """The paper's format ``<think>...</think><answer>{"query": "..."}</answer>``.

    Attributes:
        format_bonus: Added to the metric when the action is well-formed (paper: 0.1).
        format_penalty: The reward of a malformed action (paper: -2).
    """

    name: ClassVar[str] = "recr1"
    format_bonus: float = 0.1
    format_penalty: float = -2.0

    def query_of(self, action: str, raw_query: str) -> tuple[str, bool]:
        query = extract_answer_query(action)
        return ("", False) if query is None else (query, True)

    def action_for(self, query: str, raw_query: str = "") -> str:
        return format_answer(query)

    def reward(self, format_ok: bool | np.ndarray, metric: float | np.ndarray) -> np.ndarray:
        return np.where(format_ok, self.format_bonus + np.asarray(metric, dtype=np.float64), self.format_penalty)

    @property
    def reward_range(self) -> tuple[float, float]:
        return (min(self.format_penalty, 0.0), 1.0 + self.format_bonus)


@register_preset
@dataclass(frozen=True)
class PlainPreset(RewardPreset):
    """The whole action text is the query; always well-formed."""

    name: ClassVar[str] = "plain"

    def query_of(self, action: str, raw_query: str) -> tuple[str, bool]:
        return action, True

    def action_for(self, query: str, raw_query: str = "") -> str:
        return query


@register_preset
@dataclass(frozen=True)
class ExpandPreset(RewardPreset):
    """Query expansion: the raw query followed by the action's words (its ``<answer>`` query if it has one)."""

    name: ClassVar[str] = "expand"
    default_prompt: ClassVar[str] = "expand"

    def query_of(self, action: str, raw_query: str) -> tuple[str, bool]:
        expansion = extract_answer_query(action)
        expansion = action if expansion is None else expansion
        return f"{raw_query} {expansion}".strip(), True

    def action_for(self, query: str, raw_query: str = "") -> str:
        """What follows one leading copy of ``raw_query`` in ``query`` (the env puts the raw query first itself);
        a query that does not start with it is sent after it: under ``expand`` the raw query is always the floor."""
        if query == raw_query:
            return ""
        if raw_query and query.startswith(raw_query + " "):
            return query[len(raw_query) + 1 :]
        return query
