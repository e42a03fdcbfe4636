"""A small fake recgym env (single and vector) for the agent tests, and contract tests that hold for it and, once
registered, for the real ``RecR1/Shop-BM25-v0``: the agents are written against exactly this API.

The fake env scores an action 1 when it contains the target word (the one clearly best rewrite), else 0, and
reports that score under every metric key; ``reward_fn`` swaps the scoring for tests that need another shape.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.spaces import Text

METRIC_KEYS = ("ndcg@10", "ndcg@100", "recall@10", "recall@100")
QUERIES = {
    "train": ["red shoes", "blue jacket", "small lamp", "cheap mug", "wireless headphones", "organic book"],
    "val": ["green bag", "black watch", "white kettle"],
    "test": ["large table", "new chair", "premium phone case", "red mug", "blue shoes"],
}
TARGET = "waterproof"
PRINTABLE = string.ascii_letters + string.digits + string.punctuation + " \n"


def keyword_reward(action: str, query: str) -> float:
    return 1.0 if TARGET in action.split() else 0.0


class KeywordEnv(gym.Env):
    """Single-step fake search env following the recgym env contract (plain reward preset: the action is the query)."""

    metadata: ClassVar[dict[str, Any]] = {"render_modes": []}

    def __init__(self, reward_fn: Callable[[str, str], float] = keyword_reward) -> None:
        self.reward_fn = reward_fn
        self.action_space = Text(max_length=32, charset=string.ascii_lowercase + " ")
        self.observation_space = Text(max_length=256, charset=PRINTABLE)
        self._example: tuple[str, int] | None = None

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[str, dict]:
        super().reset(seed=seed)
        options = options or {}
        split = options.get("split", "train")
        index = int(options["index"]) if "index" in options else int(self.np_random.integers(len(QUERIES[split])))
        query = QUERIES[split][index]
        self._example = (split, index)
        info = {
            "example_id": f"{split}-{index}",
            "index": index,
            "split": split,
            "split_size": len(QUERIES[split]),
            "num_relevant": 1,
            "raw_action": query,
        }
        return f"rewrite query {query}", info

    def step(self, action: str) -> tuple[str, float, bool, bool, dict]:
        if self._example is None:
            raise RuntimeError("call reset() before step()")
        split, index = self._example
        query = QUERIES[split][index]
        score = float(self.reward_fn(action, query))
        info = {k: score for k in METRIC_KEYS}
        info.update(format_ok=True, query=action, example_id=f"{split}-{index}", num_relevant=1)
        return "", score, True, False, info


def batch_infos(infos: Sequence[dict]) -> dict[str, Any]:
    """Per-env dicts -> the Gymnasium vector convention: arrays plus ``_key`` presence masks."""
    out: dict[str, Any] = {}
    for key in infos[0]:
        values = [info[key] for info in infos]
        array = np.empty(len(values), dtype=object) if isinstance(values[0], str) else None
        if array is not None:
            array[:] = values
        out[key] = array if array is not None else np.asarray(values)
        out[f"_{key}"] = np.ones(len(values), dtype=bool)
    return out


class KeywordVectorEnv(gym.vector.VectorEnv):
    """N fake envs scored together in one ``step`` (the real vector env makes one batched recommender call)."""

    def __init__(self, num_envs: int, reward_fn: Callable[[str, str], float] = keyword_reward) -> None:
        self.envs = [KeywordEnv(reward_fn) for _ in range(num_envs)]
        self.num_envs = num_envs
        self.single_action_space = self.envs[0].action_space
        self.single_observation_space = self.envs[0].observation_space
        self.action_space = gym.vector.utils.batch_space(self.single_action_space, num_envs)
        self.observation_space = gym.vector.utils.batch_space(self.single_observation_space, num_envs)
        self.step_calls = 0

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[tuple[str, ...], dict]:
        options = dict(options or {})
        split = options.get("split", "train")
        if "indices" in options:
            indices = list(options["indices"])
        elif "index" in options:
            indices = [options["index"]] * self.num_envs
        else:
            indices = [None] * self.num_envs
        if len(indices) != self.num_envs:
            raise ValueError(f"need {self.num_envs} indices, got {len(indices)}")
        results = []
        for i, (env, index) in enumerate(zip(self.envs, indices)):
            opts = {"split": split} if index is None else {"split": split, "index": index}
            results.append(env.reset(seed=None if seed is None else seed + i, options=opts))
        return tuple(obs for obs, _ in results), batch_infos([info for _, info in results])

    def step(self, actions: Sequence[str]) -> tuple[tuple[str, ...], np.ndarray, np.ndarray, np.ndarray, dict]:
        self.step_calls += 1
        results = [env.step(a) for env, a in zip(self.envs, actions, strict=True)]
        rewards = np.asarray([r[1] for r in results], dtype=np.float64)
        terminated = np.ones(self.num_envs, dtype=bool)
        truncated = np.zeros(self.num_envs, dtype=bool)
        return tuple(r[0] for r in results), rewards, terminated, truncated, batch_infos([r[4] for r in results])


# ------------------------------------------------------------------------------------------------ contract tests
def real_env_ids() -> list[str]:
    """The real env ids the agents are checked against, where ``import recgym`` registers them."""
    try:
        import recgym  # noqa: F401  (registers the envs once they exist)
    except ImportError:
        return []
    return [env_id for env_id in ("RecR1/Shop-BM25-v0",) if env_id in gym.registry]


REAL_ENV_IDS = real_env_ids()
ENV_CASES = ["fake", *REAL_ENV_IDS]


def _make(case: str, num_envs: int | None = None) -> Any:
    if case == "fake":
        return KeywordEnv() if num_envs is None else KeywordVectorEnv(num_envs)
    if num_envs is None:
        return gym.make(case, reward="expand")
    return gym.make_vec(case, num_envs=num_envs, reward="expand")


@pytest.mark.parametrize("case", ENV_CASES)
def test_single_env_follows_the_agent_contract(case: str) -> None:
    env = _make(case)
    obs, info = env.reset(options={"index": 0, "split": "test"})
    assert info["split_size"] > 0
    assert isinstance(obs, str) and obs
    assert {"example_id", "index", "split", "split_size", "num_relevant", "raw_action"} <= set(info)
    _, reward, terminated, truncated, step_info = env.step(info["raw_action"])
    assert terminated and not truncated
    assert {"ndcg@10", "ndcg@100", "recall@10", "recall@100", "format_ok", "query", "example_id"} <= set(step_info)
    assert isinstance(float(reward), float)
    assert isinstance(env.action_space, Text)


@pytest.mark.parametrize("case", ENV_CASES)
def test_vector_env_puts_a_group_on_one_example_and_scores_in_one_step(case: str) -> None:
    from recgym.agents.base import unbatch_infos

    venv = _make(case, num_envs=3)
    obs, infos = venv.reset(seed=0, options={"index": 1, "split": "train"})
    assert len(obs) == 3 and len(set(obs)) == 1
    per_env = unbatch_infos(infos, 3)
    assert len({i["example_id"] for i in per_env}) == 1
    obs, infos = venv.reset(options={"indices": [0, 1, 2], "split": "train"})
    assert len({i["example_id"] for i in unbatch_infos(infos, 3)}) == 3
    _, rewards, terminated, _, step_infos = venv.step([i["raw_action"] for i in unbatch_infos(infos, 3)])
    assert rewards.shape == (3,) and terminated.all()
    assert "ndcg@10" in step_infos
