"""stable-baselines3 bridge: fixed-size wrappers around the text envs keep the env's reward; PPO learns on them."""

import runpy
import sys
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import RawQueryAgent, evaluate
from recgym.agents.prf import PseudoRelevanceFeedbackAgent
from recgym.integrations.rewrite import (
    AppendPhrase,
    AppendProductType,
    DropStopwords,
    KeepLongest,
    RawQuery,
    RM3Expansion,
    head_phrase,
    mine_type_phrases,
)
from recgym.integrations.sb3 import (
    CandidateTermActions,
    DiscreteRewriteActions,
    EmbeddingObservation,
    HashedBagOfWords,
    evaluate_policy_on_split,
    make_sb3_env,
    operator_table,
)
from recgym.rewards import format_answer, get_preset

SMALL_SHOP = {"num_products": 400, "num_queries": 200}
PRESETS = ("recr1", "plain", "expand")


def shop(reward: str = "recr1", **kwargs) -> gym.Env:
    return gym.make("RecR1/Shop-BM25-v0", reward=reward, dataset_kwargs=SMALL_SHOP, **kwargs)


# ------------------------------------------------------------------------------------------------ operators
def test_operators_rewrite_text():
    q = "something to keep my coffee hot on the commute, in black"
    assert RawQuery().rewrite(q, []) == q
    assert DropStopwords().rewrite(q, []) == "something keep my coffee hot commute black"
    assert KeepLongest(2).rewrite(q, []) == "something commute"
    assert head_phrase("Thermora Stainless Steel Travel Mug, 16 oz, Leak-Proof Lid") == ["travel", "mug"]
    feedback = ["Thermora Travel Mug, 16 oz", "Basicly French Press, Glass", "Cucina Travel Mug, 12 oz"]
    assert AppendProductType().rewrite(q, feedback) == q + " travel mug"
    assert AppendPhrase("travel mug").rewrite("travel cup", []) == "travel cup mug"
    # RM3: query repeated to carry half of the mass, then the relevance-model words of the feedback
    rm3 = RM3Expansion(num_terms=2).rewrite("coffee mug", ["Thermora Travel Mug", "Travel Mug Lid"])
    assert rm3 == "coffee mug travel thermora"


def test_action_for_follows_each_presets_raw_action():
    raw = "red travel mug"
    for preset in PRESETS:
        assert get_preset(preset).action_for(raw, raw) == get_preset(preset).raw_action(raw)
    assert get_preset("recr1").action_for("red travel mug steel", raw) == format_answer("red travel mug steel")
    assert get_preset("expand").action_for("red travel mug steel", raw) == "steel"
    # not a continuation: sent after the raw query
    assert get_preset("expand").action_for("travel mug", raw) == "travel mug"


# ------------------------------------------------------------------------------------------------ wrappers
@pytest.mark.parametrize("reward", PRESETS)
def test_check_env_passes_and_reward_is_the_text_envs(reward):
    from stable_baselines3.common.env_checker import check_env

    env = EmbeddingObservation(DiscreteRewriteActions(shop(reward)), model=HashedBagOfWords(32))
    check_env(env)  # raises on any API problem
    assert env.observation_space.shape == (32,) and env.action_space.n == 7
    text_env = shop(reward)
    for action in range(env.action_space.n):
        obs, info = env.reset(options={"index": 3, "split": "test"})
        assert obs.dtype == np.float32 and env.observation_space.contains(obs)
        _, reward_value, terminated, truncated, step_info = env.step(action)
        assert terminated and not truncated
        text_env.reset(options={"index": 3, "split": "test"})
        _, expected, _, _, expected_info = text_env.step(step_info["action_text"])
        assert reward_value == expected and step_info["ndcg@100"] == expected_info["ndcg@100"]
        assert step_info["operator"] == env.get_wrapper_attr("operator_names")[action]
    # the raw operator plays exactly the env's raw_action
    obs, info = env.reset(options={"index": 3, "split": "test"})
    assert env.get_wrapper_attr("action")(0) == info["raw_action"]


def test_rm3_operator_matches_the_prf_agent():
    env = shop("plain")
    wrapped = DiscreteRewriteActions(env, [RM3Expansion(num_terms=10, fb_docs=10, original_weight=0.5)])
    agent = PseudoRelevanceFeedbackAgent(env, fb_docs=10, fb_terms=10, original_weight=0.5)
    for i in range(5):
        obs, info = wrapped.reset(options={"index": i, "split": "test"})
        assert wrapped.action(0) == agent.act([obs], [info])[0]


def test_embedding_source_cache_and_candidates():
    class Counting(HashedBagOfWords):
        calls = 0

        def encode(self, texts):
            Counting.calls += 1
            return super().encode(texts)

    enc = Counting(16)
    env = EmbeddingObservation(DiscreteRewriteActions(shop()), model=enc)
    o1, info = env.reset(options={"index": 0})
    calls = Counting.calls
    o2, _ = env.reset(options={"index": 0})
    assert Counting.calls == calls and np.array_equal(o1, o2)  # cached per text
    np.testing.assert_allclose(o1, enc.encode([info["raw_query"]])[0], rtol=1e-6)
    prompt_env = EmbeddingObservation(DiscreteRewriteActions(shop()), model=enc, source="prompt")
    p, _ = prompt_env.reset(options={"index": 0})
    assert not np.allclose(p, o1)

    from stable_baselines3.common.env_checker import check_env

    cand = EmbeddingObservation(CandidateTermActions(shop("expand"), 6), model=HashedBagOfWords(16), candidates=True)
    check_env(cand)
    obs, info = cand.reset(options={"index": 1, "split": "test"})
    assert obs.shape == (16 * 7,) and len(info["candidate_terms"]) == 6
    _, _, _, _, step_info = cand.step(np.array([1, 0, 1, 0, 0, 0], dtype=np.int8))
    chosen = [w for w in np.array(info["candidate_terms"])[[0, 2]] if w]
    assert step_info["selected_terms"] == chosen and step_info["action_text"] == " ".join(chosen)


def test_mined_type_phrases_come_from_catalog_titles():
    env = shop()
    phrases = mine_type_phrases(env, "train", max_phrases=200)
    catalog_types = {t.lower() for t in env.unwrapped.task.dataset.catalog.fields["product_type"]}
    hits = sum(any(p.endswith(t.split()[-1]) for t in catalog_types) for p in phrases)
    assert len(phrases) > 50 and hits / len(phrases) > 0.9


# ------------------------------------------------------------------------------------------------ learning
def test_ppo_beats_the_random_operator_policy():
    """~300 PPO steps on a small shop with the hashed encoder: the learned operator choice beats uniform random
    (the expectation over the exact per-operator table) by a margin, on the training split."""
    import torch
    from stable_baselines3 import PPO

    torch.set_num_threads(1)
    env = make_sb3_env("RecR1/Shop-BM25-v0", model=HashedBagOfWords(64), dataset_kwargs=SMALL_SHOP)
    eval_env = make_sb3_env("RecR1/Shop-BM25-v0", model=HashedBagOfWords(64), dataset_kwargs=SMALL_SHOP)
    table = operator_table(eval_env, "train")
    random_policy = float(table.mean())
    model = PPO(
        "MlpPolicy",
        env,
        n_steps=64,
        batch_size=64,
        n_epochs=10,
        learning_rate=3e-3,
        seed=0,
        policy_kwargs={"net_arch": [64]},
    )
    model.learn(320)
    learned = evaluate_policy_on_split(lambda o: model.predict(o, deterministic=True)[0], eval_env, "train")
    # measured: random 0.410, learned 0.448 (table: raw 0.453, keep_longest_3 0.286)
    assert learned["reward"] > random_policy + 0.02, (learned, random_policy)
    raw = evaluate(RawQueryAgent(), shop(), "train")
    assert raw["reward"] == pytest.approx(table[:, 0].mean())  # the raw operator is the raw-query baseline


def test_sb3_example_runs(capsys, tmp_path, monkeypatch):
    monkeypatch.setattr(
        sys,
        "argv",
        [
            "sb3_ppo.py",
            "--steps",
            "256",
            "--encoder",
            "hash",
            "--actions",
            "operators",
            "--n-steps",
            "64",
            "--dataset-kwargs",
            '{"num_products": 400, "num_queries": 200}',
            "--out",
            str(tmp_path),
        ],
    )
    runpy.run_path(str(Path(__file__).resolve().parents[1] / "examples" / "sb3_ppo.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "uniform-random operator" in out and "PPO policy" in out
    assert (tmp_path / "results.json").is_file() and (tmp_path / "ppo_policy.zip").is_file()
