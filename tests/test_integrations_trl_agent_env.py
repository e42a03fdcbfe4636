"""TRL ``environment_factory`` for the search-agent ids: the ``search`` and ``answer`` tools called as TRL calls them
(no model), the budget, and rewards equal to the agent env's own reset/step."""

import inspect

import gymnasium as gym
import pytest
from test_integrations_trl import SMALL_SHOP, rescore

import recgym  # noqa: F401  (registers the ids)
from recgym.envs.agent_env import as_answer, search_turns
from recgym.integrations._envs import task_for
from recgym.integrations.trl import RecGymReward
from recgym.integrations.trl_env import RecGymEnvFactory, RecGymSearchEnvFactory, RecGymSearchToolEnv, env_rows
from recgym.rewards import format_answer

AGENT_ID = "RecR1/Shop-BM25-Agent-v0"


def factory(**kwargs):
    return RecGymSearchEnvFactory(AGENT_ID, dataset_kwargs=SMALL_SHOP, **kwargs)


def test_tools_are_search_and_answer_as_trl_sees_them():
    from transformers.utils import get_json_schema

    public = [n for n, _ in inspect.getmembers(RecGymSearchToolEnv, inspect.isfunction) if not n.startswith("_")]
    assert sorted(public) == ["answer", "get_reward", "reset", "search"]
    schema = get_json_schema(factory()().search)["function"]
    assert schema["name"] == "search" and schema["parameters"]["required"] == ["query"]
    with pytest.raises(ValueError, match="not a search-agent id"):
        RecGymSearchEnvFactory("RecR1/Shop-BM25-v0", dataset_kwargs=SMALL_SHOP)


def test_single_answer_adapters_refuse_the_agent_env():
    """Scoring an agent id's turns as one text would give other rewards than the env: every one-text adapter says
    so (TRL's tool env and reward function, verl, the OpenEnv server, verifiers all resolve the env through it)."""
    agent_env = gym.make(AGENT_ID, dataset_kwargs=SMALL_SHOP)
    with pytest.raises(ValueError, match="multi-turn search-agent env"):
        RecGymEnvFactory(AGENT_ID, dataset_kwargs=SMALL_SHOP)
    with pytest.raises(ValueError, match="multi-turn search-agent env"):
        RecGymReward(agent_env)
    with pytest.raises(ValueError, match="multi-turn search-agent env"):  # the vector agent env too
        task_for(gym.make_vec(AGENT_ID, num_envs=2, dataset_kwargs=SMALL_SHOP))
    assert task_for(gym.make("RecR1/Shop-BM25-v0", dataset_kwargs=SMALL_SHOP)).catalog is not None


def test_searches_answers_and_rewards_follow_the_agent_env(monkeypatch):
    make = factory(reward="recr1", split="test")
    task = make.task
    searches = []
    original = task.recommender.search
    monkeypatch.setattr(task.recommender, "search", lambda q, k: searches.append(len(q)) or original(q, k))
    rows = env_rows(make, "test", max_examples=3)
    envs = [make() for _ in rows]
    observations = [env.reset(**row) for env, row in zip(envs, rows)]
    assert "call the search tool up to 2 times" in observations[0] and "<search>" not in observations[0]
    raw = [task.raw_query(ex) for ex in task.examples("test")[:3]]

    shown = envs[0].search(raw[0])
    titles = task.feedback([raw[0]], 3)[0]
    assert shown == "<search>{}</search>\n<information>\n{}\n</information>\nSearches left: 1.".format(
        raw[0], "\n".join(f"{i + 1}. {t}" for i, t in enumerate(titles))
    )
    assert search_turns("\n" + shown + "\n") == [(raw[0], titles)] and len(titles) == 3
    assert envs[0].answer("laser level") == "Answer recorded."

    assert envs[1].search("mug").endswith("Searches left: 1.") and envs[1].search("kettle").endswith("now.")
    assert envs[1].search("lamp") == "No searches left: the episode has ended without an answer."
    assert envs[1].answer("lamp") == "The episode has ended: the answer was not recorded."
    assert envs[0].search("more?") == "The episode has ended: no more searches."  # answered already
    calls = len(searches)
    rewards = [env.get_reward() for env in envs]  # envs[2] never answered
    assert searches[calls:] == [1]  # the one answer, scored in one batched search
    assert rewards[1:] == [-2.0, -2.0] and rewards[0] == rescore([format_answer("laser level")], [0], ["test"])[0]

    # the same turns through the agent env's own reset/step
    agent_env = gym.make(AGENT_ID, dataset_kwargs=SMALL_SHOP, split="test")
    agent_env.reset(options={"index": 0})
    assert agent_env.step(f"<search>{raw[0]}</search>")[1] == 0.0
    assert agent_env.step(as_answer(format_answer("laser level")))[1] == rewards[0]
    agent_env.reset(options={"index": 1})
    for query in ("mug", "kettle", "lamp"):
        _, reward, _, truncated, _ = agent_env.step(f"<search>{query}</search>")
    assert truncated and reward == rewards[1]


def test_never_answering_gets_the_no_answer_reward_not_the_raw_querys():
    make = factory(reward="expand", split="test", max_searches=1, results_per_search=5)
    env = make()
    obs = env.reset(index=0, split="test")
    assert "up to 1 times" in obs and "top 5 product titles" in obs
    assert env.search("stainless steel").count("\n") == 8  # search, information, 5 titles, /information, budget
    assert env.get_reward() == 0.0 and env.episode.info == {"format_ok": False}
    answered = make()
    answered.reset(index=0, split="test")
    answered.answer(make.task.raw_query(make.task.examples("test")[0]))
    assert answered.get_reward() > 0.0  # the raw query finds something; silence does not
