"""`RecTextVectorEnv`: N episodes scored with ONE batched recommender call per step (GRPO's G rewrites of a prompt)."""

from __future__ import annotations

from typing import Any

import numpy as np
from gymnasium import spaces
from gymnasium.vector import AutoresetMode, VectorEnv

from recgym.data.types import Example
from recgym.envs.episodes import select_episode
from recgym.envs.task import plain
from recgym.envs.text_env import RecTextEnv


class RecTextVectorEnv(VectorEnv):
    """A batch of ``num_envs`` :class:`RecTextEnv` episodes sharing one dataset, recommender and reward.

    ``step(actions)`` parses all N actions and ranks all N queries in one ``Recommender.search`` call, so scoring a
    GRPO group costs one batched retrieval, not N. Spaces, rewards and info keys are those of :class:`RecTextEnv`;
    ``infos`` is a dict of arrays (Gymnasium's vector convention, with ``_key`` masks).

    Reset options:
        ``{"index": i, "split": s}`` puts every sub-env on example ``i`` (one GRPO group); ``{"indices": [i0, ...]}``
        gives one example per sub-env; without either, each sub-env draws its own example.

    Autoreset: ``NEXT_STEP`` (Gymnasium's default): every episode ends after one step, and a ``step`` on finished
    sub-envs resets them (reward 0) instead of scoring; call ``reset`` before each batch of actions to avoid that.

    Args:
        num_envs: Batch size N.
        env: A :class:`RecTextEnv` providing the dataset, recommender, reward and spaces (or pass its kwargs).
    """

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int, env: RecTextEnv | None = None, **env_kwargs: Any) -> None:
        if not isinstance(num_envs, (int, np.integer)) or num_envs < 1:
            raise ValueError(f"num_envs must be a positive int, got {num_envs!r}")
        if env is None:
            env = RecTextEnv(**env_kwargs)
        elif env_kwargs:
            raise ValueError("pass either env or the env's keyword arguments, not both")
        self.env = env
        self.task, self.split = env.task, env.split
        self.num_envs = int(num_envs)
        self.single_observation_space = env.observation_space
        self.single_action_space = env.action_space
        # Gymnasium's batch_space deep-copies a Text space per sub-env (~90 ms each with a 55k-char charset); the
        # sub-spaces are identical and immutable, so one shared instance serves every slot
        self.observation_space = spaces.Tuple((self.single_observation_space,) * self.num_envs)
        self.action_space = spaces.Tuple((self.single_action_space,) * self.num_envs)
        self._examples: list[Example | None] = [None] * self.num_envs
        self._splits: list[str] = [env.split] * self.num_envs
        self._obs: list[str] = [""] * self.num_envs

    def _start(self, picks: list[tuple[int, str, int]], infos: dict) -> list[str]:
        """Start sub-env ``i`` on example ``index`` of ``split`` for each pick; their reset infos go into ``infos``."""
        obs, rows = [], []
        for i, split, index in picks:
            example = self.task.dataset.split(split)[index]
            self._examples[i], self._splits[i] = example, split
            self._obs[i] = self.task.observation(example)
            obs.append(self._obs[i])
            rows.append(self.task.reset_info(example, split, index))
        if rows:
            columns = {
                key: np.array([r[key] for r in rows], dtype=object if isinstance(rows[0][key], str) else None)
                for key in rows[0]
            }
            _scatter(infos, columns, [i for i, _, _ in picks], self.num_envs)
        return obs

    def reset(self, *, seed: int | list[int] | None = None, options: dict[str, Any] | None = None):
        if isinstance(seed, list):
            seed = seed[0] if seed else None  # one shared generator draws every sub-env's example
        super().reset(seed=seed)
        options = dict(options or {})
        indices = options.pop("indices", None)
        if indices is not None:
            if "index" in options:
                raise ValueError("pass reset option 'index' or 'indices', not both")
            if len(indices) != self.num_envs:
                raise ValueError(f"reset option indices has {len(indices)} entries for {self.num_envs} sub-envs")
            picks = [
                select_episode(self.task, self.np_random, self.env.split, {**options, "index": i}, "RecTextEnv")
                for i in indices
            ]
        elif options.get("index") is not None:
            picks = [select_episode(self.task, self.np_random, self.env.split, options, "RecTextEnv")] * self.num_envs
        else:
            picks = [
                select_episode(self.task, self.np_random, self.env.split, options, "RecTextEnv")
                for _ in range(self.num_envs)
            ]
        infos: dict = {}
        obs = self._start([(i, split, index) for i, (split, index) in enumerate(picks)], infos)
        return tuple(obs), infos

    def step(self, actions):
        if isinstance(actions, (str, bytes)):
            # a str is a sequence of one-character strings: "abcdefgh" would pass as 8 actions
            kind = type(actions).__name__
            raise TypeError(f"step() takes a sequence of {self.num_envs} str actions (one per sub-env), got one {kind}")
        actions = list(actions)
        if len(actions) != self.num_envs:
            raise ValueError(f"step() needs {self.num_envs} actions, got {len(actions)}")
        live = [i for i, ex in enumerate(self._examples) if ex is not None]
        rewards = np.zeros(self.num_envs, dtype=np.float64)
        obs: list[str] = [""] * self.num_envs
        infos: dict = {}
        if live:
            examples = [self._examples[i] for i in live]
            scored, columns = self.task.score([actions[i] for i in live], examples)
            rewards[live] = scored
            _scatter(infos, columns, live, self.num_envs)
            for i in live:
                obs[i] = self._obs[i]  # the prompt the action answered
                self._examples[i] = None
        finished = sorted(set(range(self.num_envs)).difference(live))  # NEXT_STEP autoreset of these
        picks = [
            (i, *select_episode(self.task, self.np_random, self._splits[i], {"split": self._splits[i]}, "RecTextEnv"))
            for i in finished
        ]
        for i, o in zip(finished, self._start(picks, infos)):
            obs[i] = o
        terminated = np.array([i in live for i in range(self.num_envs)])
        return tuple(obs), rewards, terminated, np.zeros(self.num_envs, dtype=bool), infos


def _scatter(infos: dict, columns: dict[str, np.ndarray], rows: list[int], n: int) -> None:
    """Place columnar infos of the scored sub-envs ``rows`` into Gymnasium's vector info layout (``_key`` masks)."""
    for key, column in columns.items():
        if key not in infos:
            infos[key] = np.full(n, None, dtype=object) if column.dtype == object else np.zeros(n, dtype=column.dtype)
            infos["_" + key] = np.zeros(n, dtype=bool)
        infos[key][rows] = column
        infos["_" + key][rows] = True


def unbatch_infos(infos: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium vector infos (dict of arrays, ``_key`` masks) -> one plain dict per sub-env."""
    out: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, values in infos.items():
        if key.startswith("_"):
            continue
        present = infos.get(f"_{key}")
        nested = unbatch_infos(values, num_envs) if isinstance(values, dict) else None
        for i in range(num_envs):
            if present is None or present[i]:
                out[i][key] = nested[i] if nested is not None else plain(values[i])
    return out
