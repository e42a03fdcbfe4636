"""Named prompt templates: ``prompt="product-type"`` on any env id, and a clear error for an unknown name."""

from __future__ import annotations

import gymnasium as gym
import pytest

import recgym  # noqa: F401
from recgym.envs import task_of
from recgym.prompts import PRODUCT_TYPE, PRODUCT_TYPE_RESULTS, TEMPLATES, resolve_template


def test_a_name_selects_the_template_and_the_raw_query_is_unchanged() -> None:
    named = gym.make("RecR1/Shop-BM25-v0", reward="expand", prompt="product-type")
    default = gym.make("RecR1/Shop-BM25-v0", reward="expand")
    obs, info = named.reset(options={"index": 5, "split": "test"})
    obs_default, info_default = default.reset(options={"index": 5, "split": "test"})
    assert obs == PRODUCT_TYPE.search.format(query=info["raw_query"]) and obs != obs_default
    assert info["raw_query"] == info_default["raw_query"]
    seq = gym.make("RecR1/ShopSeq-BM25-v0", reward="expand", prompt="product-type")
    assert "What kind of product will they buy next?" in seq.reset(seed=0)[0]


def test_resolution_rules() -> None:
    assert resolve_template(None, "expand") is TEMPLATES["expand"]
    assert resolve_template(None) is TEMPLATES["paper"]
    assert resolve_template(PRODUCT_TYPE, "recr1") is PRODUCT_TYPE
    with pytest.raises(ValueError, match="product-type"):
        gym.make("RecR1/Shop-BM25-v0", prompt="no-such-prompt")


def test_results_prompt_shows_the_black_box_top_titles_searched_once_per_example() -> None:
    env = gym.make("RecR1/Shop-BM25-v0", reward="expand", prompt="product-type-results", split="test")
    task = task_of(env)
    calls = []
    search = task.recommender.search
    task.recommender.search = lambda q, k: calls.append(len(q)) or search(q, k)
    try:
        obs, info = env.reset(options={"index": 4})
        again, _ = env.reset(options={"index": 4})
    finally:
        task.recommender.search = search
    top = task.feedback([info["raw_query"]], 3)[0]
    assert obs == again and calls == [1]  # memoised: a GRPO group renders one example G times
    assert obs == PRODUCT_TYPE_RESULTS.search.format(query=info["raw_query"], results="\n".join(f"- {t}" for t in top))
    assert env.observation_space.contains(obs)
    plain = gym.make("RecR1/Shop-BM25-v0", reward="expand", prompt="product-type", split="test")
    plain.reset(options={"index": 4})
    assert env.step("chair")[1] == plain.step("chair")[1]  # the prompt changes, the reward of an action does not
