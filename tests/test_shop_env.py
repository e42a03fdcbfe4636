"""The reward is right on the embedded shop, and no action string can break an env."""

import gymnasium as gym
import numpy as np
import pytest

import recgym  # noqa: F401
from recgym.rewards import format_answer

SHOP = {"num_products": 1500, "num_queries": 600}


def test_ground_truth_title_beats_raw_query_beats_random_string():
    venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=1, split="test", reward="recr1", dataset_kwargs=SHOP)
    env = venv.unwrapped
    examples = env.task.dataset.split("test")
    catalog = env.task.dataset.catalog
    n = len(examples)
    batch = type(env)(n, env=env.env)
    rng = np.random.default_rng(0)

    def mean_ndcg(actions):
        batch.reset(options={"indices": list(range(n)), "split": "test"})
        _, rewards, _, _, infos = batch.step(actions)
        # recr1 reward = 0.1 format bonus + NDCG@100 (the env's default metric@k) for well-formed answers
        np.testing.assert_allclose(rewards, 0.1 + infos["ndcg@100"])
        return float(infos["ndcg@100"].mean()), rewards

    best = [max(ex.relevant, key=ex.relevant.get) for ex in examples]
    title, _ = mean_ndcg([format_answer(catalog.titles[catalog.position(i)]) for i in best])
    raw, _ = mean_ndcg([format_answer(ex.query) for ex in examples])
    words = " ".join(catalog.titles).split()
    rand, _ = mean_ndcg([format_answer(" ".join(rng.choice(words, size=4))) for _ in examples])
    assert title > 0.8 and title > raw + 0.4, (title, raw)
    assert 0.1 < raw and raw > 5 * rand, (raw, rand)


NASTY = [
    "",
    " ",
    "\n\n\t",
    "x" * 100_000,
    "🙂" * 5000,
    "日本語のクエリ",
    "\x00\x01\x02",
    "\ud800",  # lone surrogate
    "<answer>",
    "</answer><answer>",
    '<answer>{"query": }</answer>',
    '<answer>{"query": null}</answer>',
    "<answer>" + "[" * 10_000 + "</answer>",
    '<answer>{"query": "' + "a " * 50_000 + '"}</answer>',
    "<think>" * 1000,
    '{"query": "mug"}',
    '<ANSWER>{"query": "mug"}</ANSWER>',
    "\u202e\u200b mug",
    "SELECT * FROM items; --",
    "../../etc/passwd",
    "%s %d {0} {query}",
    "\\u0000",
    "NaN",
    "inf",
]


@pytest.mark.parametrize("reward", ["recr1", "plain", "expand"])
def test_fuzz_no_action_breaks_the_env(reward):
    venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=len(NASTY), reward=reward, dataset_kwargs=SHOP)
    low, high = venv.unwrapped.env.reward_range
    venv.reset(seed=1)
    _, rewards, terminated, _, infos = venv.step(NASTY)
    assert np.isfinite(rewards).all() and terminated.all()
    assert ((rewards >= low) & (rewards <= high)).all()
    assert all(len(q) <= 4096 for q in infos["query"])

    env = gym.make("RecR1/Shop-BM25-v0", reward=reward, dataset_kwargs=SHOP)
    env.action_space.seed(0)
    samples = [env.action_space.sample() for _ in range(2000)]
    big = type(venv.unwrapped)(200, env=env.unwrapped)
    for start in range(0, len(samples), 200):
        big.reset(seed=start)
        _, rewards, terminated, _, _ = big.step(samples[start : start + 200])
        assert np.isfinite(rewards).all() and terminated.all()
        assert ((rewards >= low) & (rewards <= high)).all()
    for action in NASTY[:8]:  # and one at a time through gym.make's checker wrappers
        env.reset(seed=0)
        assert np.isfinite(env.step(action)[1])
