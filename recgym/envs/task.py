"""The public task of every recgym env (``env.task``): examples, prompts, and actions -> ONE batched search ->
rewards and infos.

The single env and the vector env delegate here, so N actions always cost one ``Recommender.search`` call; agents,
SFT pair mining, the trainer integrations (TRL, verl, SB3), the CLI and the benchmarks use a task through this
documented API (:func:`task_of` finds it behind wrappers and vector envs), never the env's internals.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from recgym.data.types import Catalog, Example, TaskDataset
from recgym.metrics import METRICS, compute_metrics, relevance_arrays
from recgym.prompts import PromptTemplate, resolve_template
from recgym.recommenders.base import PAD, Recommender
from recgym.rewards import RewardPreset, get_preset, valid_unicode

INFO_KS: tuple[int, ...] = (10, 50, 100)
"""Cutoffs always reported in ``info`` (``ndcg@K`` and ``recall@K`` for each): the paper's tables use @10/@50
(sequential) and @100 (search)."""


class Task:
    """One dataset, one (already indexed) recommender, one reward: what an env is, as a batched API.

    Public API (stable; docs/api.md): :attr:`dataset`, :attr:`catalog`, :attr:`kind` (``"search"`` or
    ``"sequential"``), :attr:`preset`, :attr:`prompt`, :attr:`metric`, :attr:`k`, :attr:`reward_key`;
    :meth:`examples`, :meth:`num_examples`, :meth:`observation`, :meth:`raw_query`, :meth:`raw_action`,
    :meth:`score` (rewards of many actions from ONE recommender call), :meth:`feedback` (the recommender's top item
    texts, the black-box output a feedback agent may read). :attr:`recommender` is the black box itself, for
    whoever serves or benchmarks it; agents reach it only through ``score`` and ``feedback``.

    Args:
        dataset: The task dataset (catalog + splits).
        recommender: An indexed recommender; only its ``search`` output is used.
        reward: Reward preset name (``"recr1"``, ``"plain"``, ``"expand"``) or a :class:`RewardPreset`.
        metric: Metric that forms the reward: ``"ndcg"``, ``"recall"``, ``"mrr"`` or ``"hit"``.
        k: Cutoff of the reward metric (paper: 1000 for training, 100 for evaluation).
        prompt: Prompt templates, or a name from ``recgym.prompts.TEMPLATES`` (``"paper"``, ``"expand"``,
            ``"product-type"``, ``"product-type-results"``); default: the preset's ``default_prompt``.
        exclude_history: Drop the user's history items from sequential rankings before scoring.
    """

    def __init__(
        self,
        dataset: TaskDataset,
        recommender: Recommender,
        reward: str | RewardPreset = "recr1",
        metric: str = "ndcg",
        k: int = 100,
        prompt: PromptTemplate | str | None = None,
        exclude_history: bool = False,
    ) -> None:
        if metric not in METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose from {METRICS}")
        if not isinstance(k, (int, np.integer)) or k < 1:
            raise ValueError(f"k must be a positive int, got {k!r}")
        self.dataset, self.recommender = dataset, recommender
        self.preset = get_preset(reward)
        self.metric, self.k = metric, int(k)
        self.reward_key = f"{metric}@{self.k}"
        self.prompt = resolve_template(prompt, self.preset.default_prompt)
        self.exclude_history = exclude_history
        self.depth = max(self.k, *INFO_KS)
        self._relevant_cache: dict[int, tuple[Example, tuple[np.ndarray, np.ndarray]]] = {}
        self._results_cache: dict[int, tuple[Example, list[str]]] = {}

    @property
    def catalog(self) -> Catalog:
        return self.dataset.catalog

    @property
    def kind(self) -> str:
        """``"search"`` (a shopper's request) or ``"sequential"`` (a purchase history)."""
        return self.dataset.task

    def examples(self, split: str) -> Sequence[Example]:
        """The examples of ``split``, in index order (``KeyError`` listing the splits for an unknown one)."""
        return self.dataset.split(split)

    def num_examples(self, split: str) -> int:
        return len(self.dataset.split(split))

    def observation(self, example: Example) -> str:
        """The prompt an agent reads for ``example`` (with the top titles for its raw query when the template shows
        feedback: one search per example, memoised)."""
        if self.prompt.feedback <= 0:
            return self.prompt.render(example, self.dataset.catalog)
        cached = self._results_cache.get(id(example))
        if cached is None or cached[0] is not example:
            cached = (example, self.feedback([self.raw_query(example)], self.prompt.feedback)[0])
            self._results_cache[id(example)] = cached
        return self.prompt.render(example, self.dataset.catalog, cached[1])

    def raw_query(self, example: Example) -> str:
        """The query the raw baseline sends: the request itself, or the latest history titles joined."""
        return self.prompt.raw_query(example, self.dataset.catalog)

    def raw_action(self, example: Example) -> str:
        """The action that submits the raw query unchanged under this task's preset."""
        return self.preset.raw_action(self.raw_query(example))

    def reset_info(self, example: Example, split: str, index: int) -> dict:
        raw = self.raw_query(example)
        return {
            "example_id": example.example_id,
            "split": split,
            "index": index,
            "split_size": len(self.dataset.split(split)),
            "num_relevant": len(self._relevant(example)[0]),
            "raw_query": raw,
            "raw_action": self.preset.raw_action(raw),  # = self.raw_action(example), without a second render
        }

    def _search(self, queries: list[str], examples: Sequence[Example]) -> np.ndarray:
        if not self.exclude_history:
            return self.recommender.search(queries, self.depth)[0]
        extra = max((len(ex.history) for ex in examples), default=0)
        ranked = self.recommender.search(queries, self.depth + extra)[0]
        out = np.full((len(queries), self.depth), PAD, dtype=np.int64)
        catalog = self.dataset.catalog
        for i, ex in enumerate(examples):
            seen = np.array([catalog.position(h) for h in ex.history], dtype=np.int64)
            row = ranked[i][~np.isin(ranked[i], seen)][: self.depth]
            out[i, : len(row)] = row
        return out

    def _relevant(self, example: Example) -> tuple[np.ndarray, np.ndarray]:
        """Catalog positions and gains of an example's relevant items, memoised (examples are immutable and a GRPO
        run scores each one many times)."""
        key = id(example)
        cached = self._relevant_cache.get(key)
        if cached is None or cached[0] is not example:
            bad = next(((i, g) for i, g in example.relevant.items() if not math.isfinite(g)), None)
            if bad is not None:  # an inf gain makes NDCG inf / inf = NaN; a NaN one was silently dropped
                raise ValueError(
                    f"{self.dataset.name}: example {example.example_id!r} has relevance gain {bad[1]!r} for item "
                    f"{bad[0]!r}; gains must be finite numbers"
                )
            position = self.dataset.catalog.position
            cached = (example, relevance_arrays({position(i): g for i, g in example.relevant.items() if g > 0}))
            self._relevant_cache[key] = cached
        return cached[1]

    def feedback(self, queries: Sequence[str], k: int, field: str = "title") -> list[list[str]]:
        """The ``field`` text of each query's top-``k`` items, best first, from ONE recommender search.

        What a black-box feedback loop may see of a ranking (pseudo-relevance feedback reads the first retrieval's
        top items): item texts only, no ids, scores or labels. Short rankings give shorter lists (``PAD`` skipped).
        """
        if field not in self.dataset.catalog.fields:
            raise KeyError(f"catalog has no field {field!r}; available: {sorted(self.dataset.catalog.fields)}")
        texts = self.dataset.catalog.fields[field]
        ranked = self.recommender.search([valid_unicode(q) for q in queries], k)[0]  # as parse() does for actions
        return [[texts[p] for p in ranking if p != PAD] for ranking in ranked]

    def score(self, actions: Sequence[str], examples: Sequence[Example]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Rewards ``(n,)`` and infos as columns (key -> array of n), from ONE recommender search over all n queries.

        ``row(infos, i)`` gives action ``i``'s info dict. ``dropped_ids`` is the number of ids the recommender's
        answer to this ONE search held that the catalog lacks (dropped; a remote engine's drifted index), the same in
        every row; 0 for in-process recommenders.
        """
        if len(actions) != len(examples):
            raise ValueError(f"got {len(actions)} actions for {len(examples)} examples")
        parsed = [self.preset.parse(a, self.raw_query(ex)) for a, ex in zip(actions, examples)]
        queries = [q for q, _ in parsed]
        relevant = [self._relevant(ex) for ex in examples]
        # an engine that answers in item ids (RemoteRecommender) drops the ids the catalog lacks and counts them in
        # `dropped_ids`; the count this search added goes into the info, so a drifted index shows where rewards fall
        dropped = getattr(self.recommender, "dropped_ids", 0)
        ranked = self._search(queries, examples)
        dropped = getattr(self.recommender, "dropped_ids", 0) - dropped
        infos: dict[str, np.ndarray] = compute_metrics(
            ranked, relevant, ks=sorted({*INFO_KS, self.k}), metrics=sorted({"ndcg", "recall", self.metric})
        )
        format_ok = np.array([ok for _, ok in parsed], dtype=bool)
        rewards = self.preset.reward(format_ok, infos[self.reward_key])
        infos["format_ok"] = format_ok
        infos["query"] = np.array(queries, dtype=object)
        infos["example_id"] = np.array([ex.example_id for ex in examples], dtype=object)
        infos["num_relevant"] = np.array([len(p) for p, _ in relevant], dtype=np.int64)
        infos["dropped_ids"] = np.full(len(actions), dropped, dtype=np.int64)  # the batch's: one search serves all n
        return rewards.astype(np.float64), infos


def task_of(env: Any) -> Task:
    """The :class:`Task` of a recgym env: single or vector, behind any Gymnasium wrappers (``env.unwrapped``); also of
    a ``SyncVectorEnv`` of recgym envs (the search-agent ids' ``make_vec``), whose forks share one task."""
    base = getattr(env, "unwrapped", env)
    task = getattr(base, "task", None)
    subs = getattr(base, "envs", None)  # a SyncVectorEnv's sub-envs, in process (an async one's are not)
    if task is None and isinstance(subs, (list, tuple)) and subs:
        task = getattr(subs[0].unwrapped, "task", None)
    if not isinstance(task, Task):
        raise TypeError(f"{type(env).__name__} is not a recgym env (its unwrapped env has no recgym Task)")
    return task


TaskScorer = Task
"""Deprecated name of :class:`Task` (recgym <= 0.3)."""


def row(infos: dict[str, np.ndarray], i: int) -> dict:
    """The info dict of item ``i`` of columnar infos, with plain Python values."""
    return {key: plain(value[i]) for key, value in infos.items()}


def plain(value: object) -> object:
    """A NumPy scalar as the Python value (what info dicts hold); anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value
