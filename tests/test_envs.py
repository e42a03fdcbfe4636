"""RecTextEnv / RecTextVectorEnv behaviour on a tiny in-memory dataset with real BM25."""

import math

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from helpers import CATALOG, tiny_search_dataset, tiny_sequential_dataset

import recgym  # noqa: F401
from recgym.data import Example, TaskDataset
from recgym.envs import ProductSearchEnv, RecTextEnv, RecTextVectorEnv, SequentialRecEnv
from recgym.recommenders import BM25Recommender
from recgym.rewards import format_answer


class CountingBM25(BM25Recommender):
    """BM25 that counts search calls, to prove batching."""

    calls = 0

    def search(self, queries, k):
        self.calls += 1
        return super().search(queries, k)


def make(dataset=None, cls=RecTextEnv, **kw):
    dataset = dataset or tiny_search_dataset()
    rec = CountingBM25(cache=False)
    rec.index(dataset.catalog)
    return cls(dataset, rec, **kw)


@pytest.mark.parametrize("reward", ["recr1", "plain", "expand"])
def test_check_env_passes(reward):
    check_env(make(reward=reward), skip_render_check=True)
    check_env(make(tiny_sequential_dataset(), reward=reward), skip_render_check=True)


def test_reward_values_and_info():
    env = make(reward="recr1")
    obs, info = env.reset(options={"index": 0})
    assert "keep my coffee hot on the commute" in obs and obs in env.observation_space
    assert info["num_relevant"] == 2 and info["example_id"] == "q0"
    _, reward, terminated, truncated, info = env.step(format_answer("insulated travel mug"))
    assert terminated and not truncated
    # the mug (gain 1) ranks first, the press (gain 0.1) is not retrieved: NDCG = 1 / (1 + 0.1/log2 3)
    expected = 1.0 / (1.0 + 0.1 / np.log2(3))
    assert info["ndcg@10"] == pytest.approx(expected) and reward == pytest.approx(0.1 + expected)
    assert info["recall@100"] == 0.5 and info["query"] == "insulated travel mug" and info["format_ok"]
    env.reset(options={"index": 0})
    _, reward, *_ = env.step("insulated travel mug")  # not the answer format
    assert reward == -2.0


def test_raw_action_reproduces_raw_query_under_every_preset():
    scores = {}
    for preset in ("recr1", "plain", "expand"):
        env = make(reward=preset)
        _, info = env.reset(options={"index": 2})
        _, _, _, _, step_info = env.step(info["raw_action"])
        assert step_info["query"] == info["raw_query"] == "café grinder ☕"
        scores[preset] = step_info["ndcg@10"]
    assert len(set(scores.values())) == 1 and scores["plain"] > 0.9


def test_reset_selection_is_seeded_and_validated():
    env = make()
    firsts = [env.reset(seed=s)[1]["index"] for s in range(20)]
    assert firsts == [env.reset(seed=s)[1]["index"] for s in range(20)]
    assert len(set(firsts)) > 1
    assert env.reset(options={"index": 1, "split": "test"})[1]["example_id"] == "q2"
    assert env.reset(options={"index": -1})[1]["example_id"] == "q2"
    with pytest.raises(ValueError, match="out of range"):
        env.reset(options={"index": 3})
    with pytest.raises(ValueError, match="no examples in split 'dev'"):
        env.reset(options={"split": "dev"})
    with pytest.raises(ValueError, match="unknown reset option"):
        env.reset(options={"idx": 0})
    with pytest.raises(ValueError, match="no examples in split"):
        make(split="nope")


def test_step_needs_reset():
    env = make()
    with pytest.raises(RuntimeError, match="reset"):
        env.step("x")
    env.reset()
    env.step("x")
    with pytest.raises(RuntimeError, match="reset"):
        env.step("x")


def test_task_classes_check_their_dataset():
    with pytest.raises(ValueError, match="'search' dataset"):
        make(tiny_sequential_dataset(), cls=ProductSearchEnv)
    with pytest.raises(ValueError, match="'sequential' dataset"):
        make(tiny_search_dataset(), cls=SequentialRecEnv)


def test_sequential_prompt_raw_query_and_history_exclusion():
    env = make(tiny_sequential_dataset(), reward="plain")
    obs, info = env.reset(options={"index": 0})
    assert "Item 1: French Press Coffee Maker Glass\nItem 2: Coffee Grinder Burr Electric" in obs
    assert info["raw_action"] == "French Press Coffee Maker Glass Coffee Grinder Burr Electric"
    excluding = make(tiny_sequential_dataset(), reward="plain", exclude_history=True)
    excluding.reset(options={"index": 0})
    env.reset(options={"index": 0})
    query = "coffee press grinder mug"  # ranks the press and grinder (history) above the mug (target)
    with_history = env.step(query)[4]
    without_history = excluding.step(query)[4]
    assert without_history["ndcg@10"] > with_history["ndcg@10"]
    assert without_history["ndcg@10"] == pytest.approx(1.0)


def test_vector_env_one_search_call_and_same_rewards_as_single():
    env = make(reward="recr1")
    actions = [format_answer("headset"), "junk", "", format_answer("wireless gaming"), format_answer("lamp")]
    venv = RecTextVectorEnv(len(actions), env=env)
    obs, infos = venv.reset(options={"index": 1})
    assert len(set(obs)) == 1 and (infos["example_id"] == "q1").all()
    before = env.task.recommender.calls
    _, rewards, terminated, truncated, infos = venv.step(actions)
    assert env.task.recommender.calls == before + 1
    assert terminated.all() and not truncated.any()
    single = []
    for a in actions:
        env.reset(options={"index": 1})
        single.append(env.step(a)[1])
    assert rewards.tolist() == single  # bit for bit: a reward does not depend on its batch
    assert rewards[0] == pytest.approx(1.1) and rewards[1] == -2.0
    assert infos["format_ok"].tolist() == [True, False, False, True, True]


def test_vector_env_indices_random_and_autoreset():
    venv = RecTextVectorEnv(3, env=make(reward="plain"))
    _, infos = venv.reset(options={"indices": [2, 0, 1]})
    assert infos["example_id"].tolist() == ["q2", "q0", "q1"]
    _, infos = venv.reset(seed=3)
    again = venv.reset(seed=3)[1]
    assert infos["example_id"].tolist() == again["example_id"].tolist()
    venv.step(["a", "b", "c"])
    _, rewards, terminated, _, infos = venv.step(["headset"] * 3)  # NEXT_STEP: finished sub-envs reset instead
    assert not terminated.any() and (rewards == 0).all() and "raw_action" in infos
    with pytest.raises(ValueError, match="needs 3 actions"):
        venv.step(["a"])
    with pytest.raises(ValueError, match="indices has 2"):
        venv.reset(options={"indices": [0, 1]})
    with pytest.raises(ValueError, match="num_envs"):
        RecTextVectorEnv(0, env=make())


def test_render_ansi():
    env = make(reward="plain", render_mode="ansi")
    env.reset(options={"index": 1})
    env.step("gaming headset")
    assert "query: 'gaming headset'" in env.render()
    with pytest.raises(ValueError, match="render_mode"):
        make(render_mode="human")


def test_vector_step_refuses_a_str_as_a_batch():
    """Issue #15, defect 3: a str is a sequence of one-character strings, so "abcdefgh" passed as 8 actions."""
    venv = RecTextVectorEnv(8, env=make(reward="plain"))
    venv.reset(options={"index": 0})
    with pytest.raises(TypeError, match="sequence of 8 str actions"):
        venv.step("abcdefgh")
    with pytest.raises(TypeError, match="must be str"):
        venv.step([b"x"] * 8)
    _, rewards, terminated, _, _ = venv.step(["mug"] * 8)  # the refused calls left the episodes open
    assert terminated.all() and (rewards > 0).all()


def test_reset_index_must_be_an_int():
    """Issue #15, defect 10: True was taken as index 1 and "1" was reported as out of range."""
    env = make()
    for bad in (True, False, "1", 1.0):
        with pytest.raises(TypeError, match="index must be an int"):
            env.reset(options={"index": bad})
    assert env.reset(options={"index": np.int64(1)})[1]["index"] == 1
    venv = RecTextVectorEnv(2, env=make())
    with pytest.raises(TypeError, match="index must be an int"):
        venv.reset(options={"indices": [0, True]})
    with pytest.raises(TypeError, match="index must be an int"):
        venv.reset(options={"index": "0"})


def test_a_failed_first_reset_of_a_made_env_does_not_break_its_steps():
    """Issue #15, defect 10: Gymnasium's passive checker kept no data from a first reset that raised, and every later
    step died in it with "cannot unpack non-iterable NoneType object", even after a good reset."""
    env = gym.make("RecR1/Shop-BM25-v0", reward="plain", dataset_kwargs={"num_products": 200, "num_queries": 50})
    with pytest.raises(ValueError, match="out of range"):
        env.reset(options={"index": 10**6})
    with pytest.raises(RuntimeError, match=r"call reset\(\) before step\(\)"):
        env.step("mug")
    for _ in range(2):
        env.reset(options={"index": 0})
        _, reward, terminated, _, _ = env.step("mug")
        assert terminated and math.isfinite(reward)


@pytest.mark.parametrize("gain", [math.inf, math.nan, -math.inf])
def test_non_finite_gains_of_a_users_dataset_are_refused(gain):
    """Issue #15, defect 4: an infinite gain made the reward NaN (inf / inf); a NaN one was dropped silently."""
    ex = Example("q0", query="coffee", relevant={"mug": 1.0, "press": gain})
    dataset = TaskDataset("mine", "search", CATALOG, {"train": (ex,)})
    env = make(dataset, reward="plain")
    with pytest.raises(ValueError, match="'q0' has relevance gain .* for item 'press'; gains must be finite"):
        env.reset(options={"index": 0})
    with pytest.raises(ValueError, match="non-finite relevance gain"):
        dataset.validate()
