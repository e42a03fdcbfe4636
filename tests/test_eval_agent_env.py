"""evaluate / compare / ``recgym eval`` on the multi-turn search-agent env (``RecR1/*-Agent-v0``): every example is a
whole episode, batched over the vector env's sub-envs; LLM agents play it in their training context."""

from __future__ import annotations

import json

import gymnasium as gym
import pytest
from helpers import tiny_search_dataset

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import PRFSearchAgent, PseudoRelevanceFeedbackAgent, RawQueryAgent, compare, evaluate, make_agent
from recgym.agents.base import EpisodeBatch, search_budget
from recgym.cli import main
from recgym.envs import SearchAgentEnv
from recgym.envs.agent_env import search_turns
from recgym.recommenders import BM25Recommender
from recgym.rewards import format_answer

AGENT_ENV, SINGLE_ENV = "RecR1/Shop-BM25-Agent-v0", "RecR1/Shop-BM25-v0"
SMALL_SHOP = {"num_products": 400, "num_queries": 200}  # 25 test examples
EPISODE_KEYS = ("num_searches", "num_turns", "answered")


def agent_venv(num_envs: int = 4, **kw) -> gym.vector.VectorEnv:
    return gym.make_vec(AGENT_ENV, num_envs=num_envs, dataset_kwargs=SMALL_SHOP, **kw)


def single_venv(num_envs: int = 4, **kw) -> gym.vector.VectorEnv:
    return gym.make_vec(SINGLE_ENV, num_envs=num_envs, dataset_kwargs=SMALL_SHOP, **kw)


def tiny_agent_env(**kw) -> SearchAgentEnv:
    dataset = tiny_search_dataset()
    rec = BM25Recommender(cache=False)
    rec.index(dataset.catalog)
    return SearchAgentEnv(dataset, rec, **kw)


class SearchThenAnswer:
    """Searches ``searches`` times (``mug``, then ``mug 2``, ...), then answers ``insulated travel mug``; counts the
    observations it is asked about."""

    def __init__(self, searches: int, answer: str = "insulated travel mug") -> None:
        self.searches, self.answer, self.calls = searches, answer, []

    def act(self, observations, infos=None):
        self.calls.append(len(observations))
        done = [len(search_turns(obs)) for obs in observations]
        return [f"<search>mug {d}</search>" if d < self.searches else format_answer(self.answer) for d in done]


class Mute:
    """Never answers: thinks aloud every turn."""

    def act(self, observations, infos=None):
        return ["<think>hm</think>" for _ in observations]


def pairs(result: dict, *keys: str) -> list[tuple]:
    return [tuple(r[k] for k in keys) for r in result["records"]]


def test_raw_on_the_agent_env_scores_the_single_step_raw_rewards():
    venv = agent_venv()
    assert search_budget(venv) == 2 and search_budget(single_venv()) is None
    result = evaluate(RawQueryAgent(), venv, "test")
    single = evaluate(RawQueryAgent(), single_venv(), "test")
    assert result["num_examples"] == single["num_examples"] == 25
    assert pairs(result, "example_id", "reward") == pairs(single, "example_id", "reward")  # exactly, per example
    for key in ("reward", "ndcg@10", "recall@100", "format_ok"):
        assert result[key] == single[key] and result["ci"][key] == single["ci"][key]
    assert {pairs(result, *EPISODE_KEYS)[0]} == set(pairs(result, *EPISODE_KEYS)) == {(0, 1, True)}
    assert all(r["action"].startswith("<answer>") for r in result["records"])
    assert (result["searches_per_episode"], result["turns_per_episode"], result["no_answer_frac"]) == (0, 1, 0)
    wrapped = gym.wrappers.vector.RecordEpisodeStatistics(venv)  # a vector wrapper: still the agent env
    assert evaluate(RawQueryAgent(), wrapped, "test", max_examples=4)["records"] == result["records"][:4]
    # a single (unwrapped or gym.make-wrapped) env: the same records, one episode at a time
    env = gym.make(AGENT_ENV, dataset_kwargs=SMALL_SHOP)
    one = evaluate(RawQueryAgent(), env, "test", max_examples=5)
    assert one["records"] == result["records"][:5]


@pytest.mark.parametrize("num_envs", [4, 7])
def test_prf_search_agent_equals_the_single_step_prf_agent_per_example(num_envs):
    """What test_agent_env states for the means, per example: one search of the raw query, RM3 over the 3 titles
    shown, equals the single-step PRF agent reading 3 titles."""
    venv = agent_venv(num_envs)
    prf = evaluate(make_agent("prf", venv), venv, "test")
    assert isinstance(make_agent("prf", venv), PRFSearchAgent)
    single = single_venv(num_envs)
    reference = evaluate(PseudoRelevanceFeedbackAgent(single, fb_docs=3), single, "test")
    assert pairs(prf, "example_id") == pairs(reference, "example_id")
    assert [r["reward"] for r in prf["records"]] == pytest.approx(
        [r["reward"] for r in reference["records"]], abs=1e-12
    )
    assert set(pairs(prf, *EPISODE_KEYS)) == {(1, 2, True)}
    assert prf["reward"] == pytest.approx(0.52442334, abs=1e-8)  # test_agent_env: the 3-title mean


def test_searching_twice_then_answering_scores_the_answer():
    env = tiny_agent_env(max_searches=2)
    venv = gym.vector.SyncVectorEnv([lambda: env.fork() for _ in range(2)])
    agent = SearchThenAnswer(2)
    result = evaluate(agent, venv, "train", max_examples=3)  # two batches: the second padded by one example
    assert [r["index"] for r in result["records"]] == [0, 1, 2]
    assert agent.calls == [2, 2, 2, 2, 2, 2]  # one act per turn over the running episodes, three turns per batch
    twin = tiny_agent_env(max_searches=2)
    for record in result["records"]:
        twin.reset(options={"index": record["index"], "split": "train"})
        answer = twin.step(format_answer("insulated travel mug"))
        assert (record["num_searches"], record["num_turns"], record["answered"]) == (2, 3, True)
        assert record["reward"] == answer[1] and record["ndcg@10"] == answer[4]["ndcg@10"]
        assert record["action"] == format_answer("insulated travel mug")
    assert result["searches_per_episode"] == 2 and result["no_answer_frac"] == 0


def test_episodes_end_at_different_turns_and_finished_ones_are_not_stepped_again():
    """Sub-env ``j`` searches ``j`` times, then answers."""
    env = tiny_agent_env(max_searches=2)

    steps: list[list[str]] = []

    class Counting(gym.vector.SyncVectorEnv):
        def step(self, actions):
            steps.append(list(actions))
            return super().step(actions)

    venv = Counting([lambda: env.fork() for _ in range(3)])
    batch = EpisodeBatch(venv, [0, 1, 2], "train")

    def act(running):
        searched = [len(search_turns(batch.observations[j])) for j in running]
        return [format_answer("mug") if s >= j else "<search>mug</search>" for j, s in zip(running, searched)]

    batch.play(act)
    assert [len(t) for t in batch.turns] == [1, 2, 3] and batch.answered.all()
    # sub-env 0 ended at turn 1: turn 2 is its autoreset, turn 3 an empty (invalid) turn of the discarded episode
    assert [s[0] for s in steps] == [format_answer("mug"), "", ""] and steps[2][1] == ""
    assert [r["num_searches"] for r in batch.records()] == [0, 1, 2]


def test_an_agent_that_never_answers_gets_the_no_answer_reward():
    venv = agent_venv(4, reward="recr1")
    result = evaluate(Mute(), venv, "test", max_examples=6)
    assert [r["reward"] for r in result["records"]] == [-2.0] * 6  # recr1's no-answer reward
    assert set(pairs(result, *EPISODE_KEYS)) == {(0, 3, False)}
    assert result["ndcg@10"] == 0 and result["format_ok"] == 0 and result["no_answer_frac"] == 1
    assert all(r["action"] == "<think>hm</think>" for r in result["records"])
    assert evaluate(Mute(), agent_venv(2, reward="plain"), "test", max_examples=2)["reward"] == 0.0


def test_compare_pairs_agent_env_results():
    venv = agent_venv()
    raw, prf = evaluate(RawQueryAgent(), venv, "test"), evaluate(make_agent("prf", venv), venv, "test")
    diff = compare(prf, raw)
    assert diff["n"] == 25 and diff["reward"] == pytest.approx(prf["reward"] - raw["reward"])
    assert set(diff["ci"]) >= {"reward", "ndcg@10"} and compare(raw, raw)["reward"] == 0


def test_cli_eval_on_the_agent_env(tmp_path, capsys):
    out = tmp_path / "agent.json"
    kwargs = json.dumps({"dataset_kwargs": SMALL_SHOP})
    argv = [
        "eval",
        "--env",
        AGENT_ENV,
        "--env-kwargs",
        kwargs,
        "--agent",
        "raw",
        "prf",
        "--baseline",
        "raw",
        "--num-envs",
        "8",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "NDCG@10" in printed and "prf - raw" in printed
    saved = json.loads(out.read_text())
    venv = agent_venv(8)
    for spec, agent in (("raw", RawQueryAgent()), ("prf", make_agent("prf", venv))):
        assert saved["agents"][spec] == json.loads(json.dumps(evaluate(agent, venv, "test"))), spec
        assert len(saved["agents"][spec]["records"]) == 25
    assert set(saved["agents"]["prf"]["records"][0]) >= {"example_id", "action", "reward", *EPISODE_KEYS}
    assert saved["comparison"]["prf"]["n"] == 25


# ------------------------------------------------------------------------------------------------ LLM agents
def test_llm_agents_are_evaluated_in_the_context_they_were_trained_in(monkeypatch):
    """GRPO (and the zero-shot prompt agent) play the agent env through play_episodes, greedy: the prompt rendered
    once, the policy's turns and the env's text continuing as token ids, never ``act`` on the transcript."""
    from recgym.agents import PromptingAgent
    from recgym.agents.grpo import GRPOAgent, GRPOConfig
    from recgym.agents.grpo.multiturn import play_episodes
    from recgym.agents.hf_policy import SamplingConfig
    from recgym.models import TINY_WORDS, tiny_policy

    words = (*TINY_WORDS, "<search>", "</search>")
    venv = agent_venv(4)
    config = GRPOConfig(num_generations=2, prompts_per_step=2, max_new_tokens=6, output_dir="unused")
    grpo = GRPOAgent(config, *tiny_policy(seed=0, words=words))
    prompt = PromptingAgent(*tiny_policy(seed=0, words=words), sampling=SamplingConfig(max_new_tokens=6))
    for agent in (grpo, prompt):
        monkeypatch.setattr(agent, "act", lambda *a, **k: pytest.fail("act was called on the agent env"))
        result = evaluate(agent, venv, "test", max_examples=6)  # two batches, the second padded
        greedy = SamplingConfig(max_new_tokens=6)
        batches = ([0, 1, 2, 3], [4, 5, 5, 5])
        expected = [r for b in batches for r in play_episodes(agent.policy, venv, b, 1, greedy, "test").records][:6]
        assert result["records"] == expected and [r["index"] for r in expected] == list(range(6))
        assert result["reward"] == pytest.approx(sum(r["reward"] for r in expected) / 6)
        assert {r["num_turns"] for r in expected} <= {1, 2, 3}
