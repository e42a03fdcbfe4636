"""How an episode of a recgym env starts: the task it is built on, which example it shows, and the bounds of what
its prompt can contain.

Shared by the single-step env (:class:`recgym.envs.text_env.RecTextEnv`) and the search agent env
(:class:`recgym.envs.agent_env.SearchAgentEnv`), so both pick examples and size their observation spaces alike.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np

from recgym.data.types import TaskDataset
from recgym.envs.task import Task
from recgym.prompts import PromptTemplate
from recgym.recommenders.base import Recommender


def build_task(
    dataset: TaskDataset,
    recommender: Recommender,
    split: str,
    render_mode: str | None,
    render_modes: list[str],
    **task_args: Any,
) -> Task:
    """The :class:`Task` a text env scores with (``task_args``: :class:`Task`'s ``reward``, ``metric``, ``k``,
    ``prompt``, ``exclude_history``), after the argument checks every text env makes.

    The split is checked here so a wrong name fails at construction, with the list of available splits, rather
    than at the first reset.
    """
    if render_mode is not None and render_mode not in render_modes:
        raise ValueError(f"render_mode must be None or one of {render_modes}, got {render_mode!r}")
    dataset.split(split)
    return Task(dataset, recommender, **task_args)


def prompt_length_bound(task: Task) -> int:
    """An upper bound on the length of any prompt this task renders (sizes the observation space)."""
    ds, tpl = task.dataset, task.prompt
    longest_title = max((len(t) for t in ds.catalog.titles), default=0)
    results = tpl.feedback * (len(tpl.result_item) + 8 + longest_title)  # the {results} lines, if shown
    if ds.task == "search":
        longest = max((len(ex.query) for split in ds.splits.values() for ex in split), default=0)
        return len(tpl.search) + longest + results
    line = len(tpl.history_item) + 8 + longest_title
    return len(tpl.sequential) + tpl.max_history * line + results


def select_episode(
    task: Task, rng: np.random.Generator, default_split: str, options: dict | None, env_name: str
) -> tuple[str, int]:
    """The (split, index) an episode starts on: ``options["index"]`` if given, else uniform over the split."""
    options = dict(options or {})
    unknown = set(options) - {"index", "split"}
    if unknown:
        raise ValueError(f"unknown reset option(s) {sorted(unknown)}; {env_name} takes 'index' and 'split'")
    split = options.get("split", default_split)
    n = len(task.dataset.split(split))
    if "index" in options and options["index"] is not None:
        index = options["index"]
        # bool is an int subclass: True would silently start example 1
        if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
            raise TypeError(f"reset option index must be an int, got {type(index).__name__} {index!r}")
        if not -n <= index < n:
            raise ValueError(f"reset option index={index!r} is out of range for split {split!r} with {n} examples")
        return split, int(index) % n
    return split, int(rng.integers(n))


def prompt_texts(dataset: TaskDataset, prompt: PromptTemplate) -> Iterator[str]:
    """Every text a rendered prompt can contain (the observation space's charset is built from them)."""
    yield prompt.search
    yield prompt.sequential
    yield prompt.history_item
    yield prompt.result_item
    yield from dataset.catalog.titles
    for split in dataset.splits.values():
        for ex in split:
            yield ex.query
