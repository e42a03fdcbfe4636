"""RawQueryAgent, RandomAgent, evaluate() and compare() on the fake env, single and vector."""

from __future__ import annotations

import math

import pytest
from test_agents_fake_env import QUERIES, REAL_ENV_IDS, TARGET, KeywordEnv, KeywordVectorEnv

from recgym.agents import RandomAgent, RawQueryAgent, compare, evaluate, load_agent


class TargetAgent:
    """Always appends the best word: the fake env's ceiling."""

    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        return [f"{obs.split(maxsplit=2)[-1]} {TARGET}" for obs in observations]


def test_raw_query_agent_submits_the_envs_raw_action() -> None:
    env = KeywordEnv()
    obs, info = env.reset(options={"index": 2, "split": "test"})
    assert RawQueryAgent().act([obs], [info]) == [QUERIES["test"][2]]
    with pytest.raises(ValueError, match="raw_action"):
        RawQueryAgent().act([obs])


@pytest.mark.parametrize("vector", [False, True])
def test_evaluate_runs_every_example_once_and_averages_metrics(vector: bool) -> None:
    env = KeywordVectorEnv(num_envs=3) if vector else KeywordEnv()
    raw = evaluate(RawQueryAgent(), env, split="test", batch_size=2)
    best = evaluate(TargetAgent(), env, split="test", batch_size=2)
    assert raw["num_examples"] == best["num_examples"] == len(QUERIES["test"])
    assert [r["index"] for r in best["records"]] == list(range(len(QUERIES["test"])))
    assert [r["action"] for r in raw["records"]] == QUERIES["test"]
    assert raw["reward"] == 0.0 and raw["ndcg@10"] == 0.0
    for key in ("reward", "ndcg@10", "ndcg@100", "recall@10", "recall@100", "format_ok"):
        assert best[key] == 1.0
    assert best["records"][0]["example_id"] == "test-0" and best["records"][0]["query"].endswith(TARGET)
    # every averaged key has its interval; constant per-example scores make it exact
    assert set(best["ci"]) == {"reward", "ndcg@10", "ndcg@100", "recall@10", "recall@100", "format_ok"}
    assert best["ci"]["ndcg@10"] == [1.0, 1.0] and raw["ci"]["reward"] == [0.0, 0.0]
    if vector:  # 5 examples on 3 sub-envs: two batched steps, the last one padded
        assert env.step_calls == 4


def test_compare_pairs_two_agents_on_the_same_examples() -> None:
    env = KeywordEnv()
    raw, best = evaluate(RawQueryAgent(), env, split="test"), evaluate(TargetAgent(), env, split="test")
    gain = compare(best, raw)
    assert gain["n"] == 5 and gain["ndcg@10"] == 1.0 and gain["ci"]["ndcg@10"] == [1.0, 1.0]
    assert gain["excludes_zero"]["reward"] and not gain["excludes_zero"]["format_ok"]  # both always well-formed
    same = compare(best, best)
    for key in best["ci"]:
        assert same[key] == 0.0 and same["ci"][key] == [0.0, 0.0] and not same["excludes_zero"][key]
    with pytest.raises(ValueError, match="example 0 is 'test-0' in the first and 'val-0' in the second"):
        compare(raw, evaluate(RawQueryAgent(), env, split="val"))
    with pytest.raises(ValueError, match="different lengths: 5 vs 2"):
        compare(raw, evaluate(RawQueryAgent(), env, split="test", max_examples=2))


def test_evaluate_respects_max_examples() -> None:
    result = evaluate(RawQueryAgent(), KeywordEnv(), split="train", max_examples=2)
    assert result["num_examples"] == 2 and len(result["records"]) == 2


def test_random_agent_samples_the_action_space_reproducibly(tmp_path) -> None:
    env = KeywordEnv()
    agent = RandomAgent(env.action_space, seed=7)
    actions = agent.act(["a"] * 5)
    assert all(env.action_space.contains(a) for a in actions)
    assert RandomAgent(env.action_space, seed=7).act(["a"] * 5) == actions
    assert RandomAgent(env.action_space, seed=8).act(["a"] * 5) != actions
    agent.save(tmp_path / "random")
    loaded = load_agent(tmp_path / "random")
    assert isinstance(loaded, RandomAgent) and loaded.act(["a"] * 5) == actions
    result = evaluate(agent, env, split="val")
    assert 0.0 <= result["reward"] <= 1.0 and not math.isnan(result["reward"])


def test_raw_query_agent_round_trips(tmp_path) -> None:
    RawQueryAgent().save(tmp_path / "raw")
    assert isinstance(load_agent(tmp_path / "raw"), RawQueryAgent)
    with pytest.raises(FileNotFoundError):
        load_agent(tmp_path / "missing")


@pytest.mark.skipif(not REAL_ENV_IDS, reason="recgym's envs are not registered")
def test_evaluate_on_the_real_env_agrees_between_single_and_vector() -> None:
    import gymnasium as gym

    env_id = REAL_ENV_IDS[0]
    single = evaluate(RawQueryAgent(), gym.make(env_id, reward="expand"), split="val", max_examples=20)
    vector = evaluate(RawQueryAgent(), gym.make_vec(env_id, num_envs=8, reward="expand"), split="val", max_examples=20)
    assert single["num_examples"] == vector["num_examples"] == 20
    for key in ("reward", "ndcg@10", "ndcg@100", "recall@10", "recall@100", "format_ok"):
        assert 0.0 <= single[key] <= 1.0
        assert single[key] == pytest.approx(vector[key])
    assert single["format_ok"] == 1.0 and single["ndcg@100"] > 0  # the raw query alone finds some products
    assert single["ci"].keys() == vector["ci"].keys()
    for key, (lo, hi) in single["ci"].items():
        assert lo <= single[key] <= hi and [lo, hi] == pytest.approx(vector["ci"][key])
    assert single["ci"]["ndcg@100"][0] < single["ndcg@100"] < single["ci"]["ndcg@100"][1]
