"""Reward relative to the raw query: a vector-env wrapper for training on query *improvement*.

For one example, ``r(action) - r(raw action)`` differs from ``r(action)`` by a constant, so GRPO's group-normalised
advantage, an unbiased estimator, sees the same signal either way. What this wrapper adds is ``loss_weight``: a
drop below the raw query's reward counts ``loss_weight`` times its size (``1.0``: the plain difference). Why: with
query expansion (the ``expand`` preset) most sampled keywords hurt a little and words the recommender ignores tie
the raw query exactly, so the expected-reward gradient pushes every prompt towards saying nothing useful; that
filler behaviour generalises across prompts while the rare helpful keyword is specific to its prompt, and the
policy collapses onto it (measured: docs/training.md). Discounting losses removes that safe harbour: filler and
harmful words both sit near 0 and only real improvements stand out. It is a shaped training signal, not the task's
metric: evaluate on the unwrapped env.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from recgym.envs.vector_env import unbatch_infos


def relative_reward(reward: Any, raw: Any, loss_weight: float) -> np.ndarray:
    """``d if d >= 0 else loss_weight * d`` with ``d = reward - raw``, elementwise (float64)."""
    diff = np.asarray(reward, dtype=np.float64) - np.asarray(raw, dtype=np.float64)
    return np.where(diff >= 0, diff, loss_weight * diff)


class RawRewards:
    """The raw query's single-step reward per example of a :class:`~recgym.envs.task.Task`, scored once
    (``Task.score`` of ``Task.raw_action``, one batched search per call for the unseen examples) and memoised.

    On the multi-turn agent env an answer earns exactly the single-step reward of its action and every other turn
    0, so an episode's return minus this is its improvement over answering with the raw query at once.
    """

    def __init__(self, task: Any) -> None:
        self.task = task
        self._raw: dict[tuple[str, int], float] = {}

    def __call__(self, split: str, indices: Any) -> np.ndarray:
        indices = [int(i) for i in indices]
        if missing := sorted({i for i in indices if (split, i) not in self._raw}):
            examples = [self.task.examples(split)[i] for i in missing]
            rewards, _ = self.task.score([self.task.raw_action(ex) for ex in examples], examples)
            self._raw.update({(split, i): float(r) for i, r in zip(missing, rewards)})
        return np.array([self._raw[(split, i)] for i in indices], dtype=np.float64)


class RelativeToRaw(gym.vector.VectorWrapper):
    """``reward = d if d >= 0 else loss_weight * d`` with ``d = r(action) - r(raw action)`` per sub-env.

    The raw action of each example (its reset info ``raw_action``) is scored once, with one batched ``step`` of the
    wrapped env, and memoised by ``(split, index)``. ``info["raw_reward"]`` holds it and ``info["env_reward"]`` the
    unshaped reward.

    Args:
        env: A recgym vector env (its reset infos carry ``split``, ``index`` and ``raw_action``).
        loss_weight: Weight of a drop below the raw query's reward, in ``[0, 1]``.
    """

    def __init__(self, env: gym.vector.VectorEnv, loss_weight: float = 1.0) -> None:
        if not 0.0 <= loss_weight <= 1.0:
            raise ValueError(f"loss_weight must be in [0, 1], got {loss_weight!r}")
        super().__init__(env)
        self.loss_weight = float(loss_weight)
        self._raw: dict[tuple[str, int], float] = {}
        self._episode: list[dict[str, Any]] = []

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        obs, infos = self.env.reset(seed=seed, options=options)
        self._episode = unbatch_infos(infos, self.num_envs)
        return obs, infos

    def step(self, actions):
        if not self._episode:
            raise RuntimeError("call reset() before step()")
        episode = self._episode
        obs, rewards, terminated, truncated, infos = self.env.step(actions)
        raw = self._raw_rewards(episode)
        shaped = relative_reward(rewards, raw, self.loss_weight)
        infos = {**infos, "raw_reward": raw, "env_reward": np.asarray(rewards, dtype=np.float64)}
        self._episode = []
        return obs, shaped, terminated, truncated, infos

    def _raw_rewards(self, episode: list[dict[str, Any]]) -> np.ndarray:
        keys = [(str(info["split"]), int(info["index"])) for info in episode]
        missing = [i for i, key in enumerate(keys) if key not in self._raw]
        if missing:
            # Score the unseen examples' raw actions in one batched step per split; spare sub-envs repeat the last.
            by_split: dict[str, list[int]] = {}
            for i in missing:
                by_split.setdefault(keys[i][0], []).append(i)
            for split, members in by_split.items():
                members += [members[-1]] * (self.num_envs - len(members))
                self.env.reset(options={"indices": [keys[i][1] for i in members], "split": split})
                _, raw, _, _, _ = self.env.step([str(episode[i]["raw_action"]) for i in members])
                for i, value in zip(members, raw):
                    self._raw[keys[i]] = float(value)
        return np.array([self._raw[key] for key in keys], dtype=np.float64)
