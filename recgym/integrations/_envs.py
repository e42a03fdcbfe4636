"""Resolving "an env id or an env instance" to its :class:`~recgym.envs.Task`, and scoring texts for given
(split, index) pairs through ``Task.score`` (ONE recommender call for the whole batch)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recgym.agents.base import search_budget
from recgym.envs.task import Task, row, task_of


def task_for(env: Any, env_kwargs: Mapping[str, Any] | None = None, *, multi_turn: bool = False) -> Task:
    """A registered id (made with ``gym.make(id, **env_kwargs)``), or a recgym env: single or vector, wrapped or
    not. Returns its task, whose dataset, recommender and reward every score goes through.

    An adapter that scores one text per example (``multi_turn=False``) refuses a search-agent env
    (``RecR1/*-Agent-v0``) with a clear error: scoring its search-then-answer turns as one text would silently give
    other rewards than the env does."""
    import gymnasium as gym

    if isinstance(env, str):
        import recgym  # noqa: F401  (registers the ids)

        env = gym.make(env, **dict(env_kwargs or {}))
    elif env_kwargs:
        raise ValueError("env keyword arguments apply only when env is an id, not an env instance")
    if not multi_turn and search_budget(env) is not None:
        name = env.spec.id if getattr(env, "spec", None) is not None else type(env).__name__
        raise ValueError(
            f"{name} is a multi-turn search-agent env (search, then answer); this adapter scores one text per "
            "example. Use the single-step id (without -Agent), or TRL's RecGymSearchEnvFactory for the agent env."
        )
    return task_of(env)


def score_rows(
    task: Task,
    texts: Sequence[str],
    splits: Sequence[str],
    indices: Sequence[int],
    example_ids: Sequence[str] | None = None,
) -> tuple[list[float], list[dict[str, Any]]]:
    """Rewards and step infos (plain dicts), in input order, of ``texts`` answering example ``indices[i]`` of
    ``splits[i]``. ``example_ids``, when given, must match the task's examples at those indices: a check that the
    prompts came from the same dataset as the env."""
    n = len(texts)
    if not (len(splits) == len(indices) == n) or (example_ids is not None and len(example_ids) != n):
        raise ValueError(
            f"got {n} texts, {len(splits)} splits, {len(indices)} indices"
            + ("" if example_ids is None else f", {len(example_ids)} example ids")
        )
    examples = []
    for i in range(n):
        split, index = splits[i], int(indices[i])
        pool = task.examples(split)
        if not -len(pool) <= index < len(pool):
            raise ValueError(f"index {index} is out of range for split {split!r} with {len(pool)} examples")
        example = pool[index]
        if example_ids is not None and str(example.example_id) != str(example_ids[i]):
            raise ValueError(
                f"example {split}[{index}] of the env is {example.example_id!r}, but the prompt row says "
                f"{example_ids[i]!r}: the dataset was built from a different env (other dataset_kwargs or data files?)"
            )
        examples.append(example)
    rewards, infos = task.score([str(t) for t in texts], examples)
    return [float(r) for r in rewards], [row(infos, i) for i in range(n)]


def mean_of(infos: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [float(info[key]) for info in infos if key in info]
    return float(np.mean(values)) if values else None
