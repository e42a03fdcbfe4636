"""RelativeToRaw: the reward is the improvement over the example's raw query, drops discounted by loss_weight."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import recgym  # noqa: F401
from recgym.envs.relative import RelativeToRaw

N = 4


@pytest.fixture(scope="module")
def venv():
    return gym.make_vec("RecR1/Shop-BM25-v0", num_envs=N, reward="expand", k=100)


def _step(env, actions, indices=(0, 1, 2, 3)):
    env.reset(options={"indices": list(indices), "split": "train"})
    return env.step(actions)


def test_rewards_are_differences_to_the_raw_query_with_discounted_drops(venv) -> None:
    _, _, _, _, infos = _step(venv, [""] * N)
    raw = np.asarray(infos["ndcg@100"], dtype=float)
    actions = ["", "gaming chair", "zzzz qqqq", "travel mug stainless"]
    _, plain, _, _, _ = _step(venv, actions)
    wrapped = RelativeToRaw(venv, loss_weight=0.25)
    _, shaped, _, _, winfo = _step(wrapped, actions)
    diff = plain - raw
    assert diff[0] == 0.0 and shaped[0] == 0.0  # the raw action itself earns exactly nothing
    np.testing.assert_allclose(winfo["raw_reward"], raw)
    np.testing.assert_allclose(winfo["env_reward"], plain)
    np.testing.assert_allclose(shaped, np.where(diff >= 0, diff, 0.25 * diff))
    assert (diff < 0).any() or (diff > 0).any()  # the case is informative


def test_raw_rewards_are_per_split(venv) -> None:
    """Index 0 of val is another example than index 0 of train: a memo keyed by index alone would mix them up."""
    wrapped = RelativeToRaw(venv, loss_weight=1.0)
    _, _, _, _, train = _step(wrapped, ["gaming chair"] * N)
    wrapped.reset(options={"indices": [0, 1, 2, 3], "split": "val"})
    _, shaped, _, _, val = wrapped.step([""] * N)
    assert shaped.tolist() == [0.0] * N
    assert not np.array_equal(train["raw_reward"], val["raw_reward"])


def test_step_without_reset_and_bad_weight_are_errors(venv) -> None:
    with pytest.raises(ValueError, match="loss_weight"):
        RelativeToRaw(venv, loss_weight=1.5)
    with pytest.raises(RuntimeError, match="reset"):
        RelativeToRaw(venv).step([""] * N)


def test_grpo_trains_on_the_improvement_when_configured(tmp_path) -> None:
    """``raw_relative_loss_weight`` makes GRPO see ``r - r(raw)``; the log keeps the env's and the raw reward."""
    from recgym.agents import GRPOAgent, GRPOConfig
    from recgym.models import tiny_policy

    model, tokenizer = tiny_policy(seed=0)
    config = GRPOConfig.cpu(num_generations=4, prompts_per_step=1, max_new_tokens=3, eval_every=0, save_every=0,
                            raw_relative_loss_weight=0.0, output_dir=str(tmp_path))
    env = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=4, reward="expand")
    record = GRPOAgent(config, model, tokenizer).train_step(env)
    assert {"env_reward", "raw_reward"} <= record.keys()
    # with weight 0 every reward is max(r - r_raw, 0): never negative, and its mean bounds the mean difference
    assert record["reward_mean"] >= 0.0
    assert record["reward_mean"] >= record["env_reward"] - record["raw_reward"] - 1e-6


def test_learning_curve_is_relative_to_the_raw_query_when_logged() -> None:
    from recgym.report import training_curve

    relative = [{"step": 1, "reward_mean": 0.1, "env_reward": 0.5, "raw_reward": 0.4},
                {"step": 2, "reward_mean": 0.0, "env_reward": 0.2, "raw_reward": 0.3}]
    points, _, axis = training_curve(relative)
    assert [s for s, _ in points] == [1, 2] and points[0][1] == pytest.approx(0.1) and points[1][1] == pytest.approx(-0.1)
    assert axis == "reward minus the raw query's"
    points, _, axis = training_curve([{"step": 1, "reward_mean": 0.7}])
    assert points == [(1, 0.7)] and axis == "reward"


def test_raw_rewards_score_each_example_once_as_the_env_does(venv) -> None:
    from recgym.envs.relative import RawRewards, relative_reward
    from recgym.envs.task import task_of

    _, env_raw, _, _, _ = _step(venv, [""] * N, indices=(3, 0, 2, 1))  # "" under expand: the raw query
    cache = RawRewards(task_of(venv))
    np.testing.assert_allclose(cache("train", [3, 0, 2, 1]), env_raw)
    searches = []
    original = cache.task.score
    cache.task.score = lambda actions, examples: searches.append(len(actions)) or original(actions, examples)
    try:
        np.testing.assert_allclose(cache("train", [1, 1, 3]), env_raw[[3, 3, 0]])  # memoised: no search
        cache("train", [1, 7, 7, 8])  # one search for the two unseen examples
    finally:
        del cache.task.score
    assert searches == [2]
    np.testing.assert_allclose(relative_reward([0.5, 0.1, -2.0], [0.3, 0.3, 0.3], 0.25), [0.2, -0.05, -0.575])
