"""Resolving "an env id or an env instance" to the base :class:`~recgym.envs.RecTextEnv` the trainer bridges score
through, and scoring texts for given (split, index) pairs with one batched recommender call per split."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from recgym.envs.text_env import RecTextEnv
from recgym.envs.vector_env import RecTextVectorEnv, unbatch_infos


def base_env(env: Any, env_kwargs: Mapping[str, Any] | None = None) -> RecTextEnv:
    """A registered id (made with ``gym.make(id, **env_kwargs)``), or a recgym env: single or vector, wrapped or
    not. Returns the unwrapped single env, whose dataset, recommender and reward every score goes through."""
    if isinstance(env, str):
        import gymnasium as gym

        import recgym  # noqa: F401  (registers the ids)

        env = gym.make(env, **dict(env_kwargs or {}))
    elif env_kwargs:
        raise ValueError("env keyword arguments apply only when env is an id, not an env instance")
    base = env.unwrapped
    if isinstance(base, RecTextVectorEnv):
        base = base.env
    if not isinstance(base, RecTextEnv):
        raise TypeError(f"expected a recgym env or env id, got {type(base).__name__}")
    return base


class BatchScorer:
    """Scores texts for ``(split, index)`` examples through :class:`RecTextVectorEnv` ``reset``/``step``: ONE
    ``reset(options={"indices": ..., "split": s})`` and ONE ``step(texts)`` (one recommender search) per split
    present in the batch. Vector envs are made per batch size and kept (they share the base env's index)."""

    def __init__(self, env: RecTextEnv) -> None:
        self.env = env
        self._vectors: dict[int, RecTextVectorEnv] = {}

    def vector(self, n: int) -> RecTextVectorEnv:
        if n not in self._vectors:
            self._vectors[n] = RecTextVectorEnv(n, env=self.env)
        return self._vectors[n]

    def score(
        self,
        texts: Sequence[str],
        splits: Sequence[str],
        indices: Sequence[int],
        example_ids: Sequence[str] | None = None,
    ) -> tuple[list[float], list[dict[str, Any]]]:
        """Rewards and step infos (plain dicts), in input order. ``example_ids``, when given, must match the env's
        examples at those indices: a check that the prompts came from the same dataset as the env."""
        n = len(texts)
        if not (len(splits) == len(indices) == n) or (example_ids is not None and len(example_ids) != n):
            raise ValueError(
                f"got {n} texts, {len(splits)} splits, {len(indices)} indices"
                + ("" if example_ids is None else f", {len(example_ids)} example ids")
            )
        rewards: list[float] = [0.0] * n
        infos: list[dict[str, Any]] = [{} for _ in range(n)]
        for split in dict.fromkeys(splits):
            rows = [i for i in range(n) if splits[i] == split]
            venv = self.vector(len(rows))
            _, reset_infos = venv.reset(options={"indices": [int(indices[i]) for i in rows], "split": split})
            if example_ids is not None:
                for j, i in enumerate(rows):
                    if str(reset_infos["example_id"][j]) != str(example_ids[i]):
                        raise ValueError(
                            f"example {split}[{indices[i]}] of the env is {reset_infos['example_id'][j]!r}, but the "
                            f"prompt row says {example_ids[i]!r}: the dataset was built from a different env "
                            "(other dataset_kwargs or data files?)"
                        )
            _, batch_rewards, _, _, step_infos = venv.step([str(texts[i]) for i in rows])
            for j, (i, info) in enumerate(zip(rows, unbatch_infos(step_infos, len(rows)))):
                rewards[i] = float(batch_rewards[j])
                infos[i] = info
        return rewards, infos


def mean_of(infos: Sequence[dict[str, Any]], key: str) -> float | None:
    values = [float(info[key]) for info in infos if key in info]
    return float(np.mean(values)) if values else None
