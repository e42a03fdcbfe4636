"""PseudoRelevanceFeedbackAgent (RM3 query expansion) and the ``env.task.feedback`` it reads feedback through."""

import math

import gymnasium as gym
import numpy as np
import pytest

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import PseudoRelevanceFeedbackAgent, RawQueryAgent, evaluate, load_agent
from recgym.data import Catalog, Example, TaskDataset
from recgym.envs import RecTextEnv, RecTextVectorEnv, task_of
from recgym.recommenders import BM25Recommender
from recgym.rewards import format_answer
from recgym.text import query_repeats, relevance_model, terms

SMALL_SHOP = {"num_products": 400, "num_queries": 200}
PRESETS = ("recr1", "plain", "expand")

# "travel mug" retrieves the two stainless travel mugs first; what they share beyond the query is "stainless steel"
MUGS = {
    "a": "Insulated Travel Mug, Stainless Steel, 16 oz",
    "b": "Travel Mug Stainless Steel Lid",
    "c": "Ceramic Coffee Mug",
    "d": "Travel Pillow Memory Foam",
    "e": "LED Desk Lamp",
}


class CountingBM25(BM25Recommender):
    calls = 0

    def search(self, queries, k):
        self.calls += 1
        return super().search(queries, k)


def mug_env(reward: str) -> RecTextEnv:
    catalog = Catalog(item_ids=tuple(MUGS), fields={"title": tuple(MUGS.values())})
    examples = (Example("q0", query="travel mug", relevant={"a": 1.0, "b": 1.0}),)
    dataset = TaskDataset("mugs", "search", catalog, {"train": examples, "test": examples})
    rec = CountingBM25(cache=False)
    rec.index(catalog)
    return RecTextEnv(dataset, rec, reward=reward, split="test")


def test_terms_drop_stopwords_numbers_and_single_letters():
    assert terms("The 16 oz Mug, for a Kid's cup") == ["oz", "mug", "kid", "cup"]


def test_relevance_model_rank_discount_and_exclusion():
    model = dict(relevance_model(["red mug", "blue mug"], exclude={"mug"}, num_terms=5))
    assert set(model) == {"red", "blue"} and math.isclose(sum(model.values()), 1.0)
    # red is at rank 1 (weight 1), blue at rank 2 (weight 1/log2 3)
    assert model["red"] / model["blue"] == pytest.approx(math.log2(3))
    assert relevance_model([], num_terms=3) == [] and relevance_model(["the of"], num_terms=3) == []


def test_query_repeats_match_the_interpolation_weight():
    assert query_repeats(0.5, 2, 2) == 1
    assert query_repeats(0.5, 2, 10) == 5  # 5 copies x 2 terms = the 10 expansion words' mass
    assert query_repeats(0.8, 5, 10) == 8
    assert query_repeats(0.0, 5, 10) == 1 and query_repeats(1.0, 5, 10) == 1 and query_repeats(0.5, 5, 0) == 1


@pytest.mark.parametrize("reward", PRESETS)
def test_expansion_picks_the_shared_feedback_words(reward):
    env = mug_env(reward)
    agent = PseudoRelevanceFeedbackAgent(env, fb_docs=3, fb_terms=2, original_weight=0.5)
    obs, info = env.reset(options={"index": 0})
    assert agent.expansions(["travel mug"]) == [["stainless", "steel"]]
    (action,) = agent.act([obs], [info])
    expected = {
        "recr1": format_answer("travel mug stainless steel"),
        "plain": "travel mug stainless steel",
        "expand": "stainless steel",
    }[reward]
    assert action == expected
    _, _, _, _, step = env.step(action)
    assert step["query"] == "travel mug stainless steel"  # the same query reaches BM25 under every preset
    assert step["recall@10"] == 1.0


def test_raw_query_comes_from_the_reset_info_under_every_preset():
    for reward in ("recr1", "plain", "expand"):
        env = mug_env(reward)
        obs, info = env.reset(options={"index": 0})
        agent = PseudoRelevanceFeedbackAgent(env)
        assert agent.raw_queries([obs], [info]) == ["travel mug"]
        with pytest.raises(ValueError, match="raw_query"):
            agent.act([obs])


def test_feedback_one_batched_call_pads_skipped_and_vector_shares_the_task():
    env = mug_env("plain")
    rec = env.task.recommender
    before = rec.calls
    texts = env.task.feedback(["travel mug", "ceramic", "", "zzz"], 3)
    assert rec.calls == before + 1
    assert set(texts[0][:2]) == {MUGS["a"], MUGS["b"]} and len(texts[0]) == 3
    assert texts[1] == [MUGS["c"]] and texts[2] == [] and texts[3] == []
    venv = RecTextVectorEnv(2, env=env)
    assert task_of(venv) is env.task and task_of(venv).feedback(["ceramic"], 5) == [[MUGS["c"]]]
    with pytest.raises(KeyError, match="no field 'brand'"):
        env.task.feedback(["mug"], 2, field="brand")


def test_prf_on_small_shop_all_presets_defined(capsys):
    queries, rows = {}, []
    for reward in PRESETS:
        venv = gym.make_vec("RecR1/Shop-BM25-v0", num_envs=32, reward=reward, dataset_kwargs=SMALL_SHOP)
        raw = evaluate(RawQueryAgent(), venv, "test")
        prf = evaluate(PseudoRelevanceFeedbackAgent(venv), venv, "test")
        assert np.isfinite(prf["reward"]) and all(np.isfinite(r["reward"]) for r in prf["records"])
        assert prf["format_ok"] == 1.0
        queries[reward] = [r["query"] for r in prf["records"]]
        rows.append(
            f"{reward:7s} raw ndcg@100={raw['ndcg@100']:.4f} recall@100={raw['recall@100']:.4f} | "
            f"prf ndcg@100={prf['ndcg@100']:.4f} recall@100={prf['recall@100']:.4f}"
        )
    # PRF's query is the same whatever the preset: only the action's wrapping differs
    assert queries["recr1"] == queries["plain"] == queries["expand"]
    assert any(len(q.split()) > 3 for q in queries["plain"])
    with capsys.disabled():
        print("\n" + "\n".join(rows))


def test_save_load_roundtrip(tmp_path):
    env = gym.make("RecR1/Shop-BM25-v0", reward="recr1", split="test", dataset_kwargs=SMALL_SHOP)
    agent = PseudoRelevanceFeedbackAgent(env, fb_docs=5, fb_terms=4, original_weight=0.7)
    agent.save(tmp_path / "prf")
    loaded = load_agent(tmp_path / "prf", env=env)
    assert isinstance(loaded, PseudoRelevanceFeedbackAgent)
    assert (loaded.fb_docs, loaded.fb_terms, loaded.original_weight) == (5, 4, 0.7)
    resets = [env.reset(options={"index": i}) for i in range(4)]
    obs, infos = [o for o, _ in resets], [i for _, i in resets]
    assert loaded.act(obs, infos) == agent.act(obs, infos)
    with pytest.raises(TypeError, match="needs the env"):
        PseudoRelevanceFeedbackAgent.load(tmp_path / "prf")


def test_rejects_bad_parameters():
    env = mug_env("plain")
    with pytest.raises(ValueError, match="original_weight"):
        PseudoRelevanceFeedbackAgent(env, original_weight=1.5)
    with pytest.raises(TypeError, match="not a recgym env"):
        PseudoRelevanceFeedbackAgent(gym.make("CartPole-v1"))
