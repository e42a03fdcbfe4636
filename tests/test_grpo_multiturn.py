"""GRPO on the multi-turn search-agent env (recgym.agents.grpo.multiturn): the env's text is masked out of the loss,
the loss's log-probs are the sampled context's, finished episodes are not stepped again, and GRPOAgent trains on
``RecR1/Shop-BM25-Agent-v0`` end to end."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest
import torch
from helpers import tiny_search_dataset

import recgym  # noqa: F401  (registers the ids)
from recgym.agents.base import search_budget
from recgym.agents.grpo import GRPOAgent, GRPOConfig
from recgym.agents.grpo.multiturn import play_episodes
from recgym.agents.hf_policy import HFPolicy, SamplingConfig
from recgym.agents.policy_trainer import num_examples, visit_order
from recgym.envs import SearchAgentEnv
from recgym.models import TINY_WORDS, tiny_policy
from recgym.recommenders import BM25Recommender

WORDS = (*TINY_WORDS, "<search>", "</search>")  # the tiny tokenizer can then write a search
SHOP = {"num_products": 400, "num_queries": 200}
SEARCH = "<think> red </think> <search> red shoes </search>"
ANSWER = "<answer> mug </answer>"


class RecordingAgentEnv(SearchAgentEnv):
    """Logs ``(episode number, action)`` of every step, to tell the episodes the rollout played from later ones."""

    def reset(self, *, seed=None, options=None):
        self.episodes = getattr(self, "episodes", 0) + 1
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self.log.append((self.episodes, action))
        return super().step(action)


def tiny_agent_venv(num_envs: int, **kw) -> tuple[gym.vector.VectorEnv, list[RecordingAgentEnv]]:
    """The vector agent env as ``gym.make_vec`` builds it (SyncVectorEnv, NEXT_STEP, forks) on the tiny dataset."""
    dataset = tiny_search_dataset()
    rec = BM25Recommender(cache=False)
    rec.index(dataset.catalog)
    base = RecordingAgentEnv(dataset, rec, **kw)
    envs = [base.fork() for _ in range(num_envs)]
    for env in envs:
        env.log = []
    return gym.vector.SyncVectorEnv([lambda e=e: e for e in envs]), envs


class ScriptedPolicy(HFPolicy):
    """Writes ``script[turn][row]`` (then ``"bag bag"``, which the turn's end must cut off), fed token by token to
    the stopping criteria as ``generate`` does; records the contexts it was asked to continue."""

    def __init__(self, script: list[list[str]]) -> None:
        super().__init__(*tiny_policy(seed=0, words=WORDS))
        self.script, self.contexts = script, []

    def sample_from_ids(self, contexts, n=1, sampling=None, stop=None):
        turn = len(self.contexts)
        self.contexts.append([list(c) for c in contexts])
        rows = [self.tokenizer(f"{text} bag bag", add_special_tokens=False)["input_ids"] for text in self.script[turn]]
        width = max(len(r) for r in rows)
        padded = torch.tensor([r + [self.tokenizer.pad_token_id] * (width - len(r)) for r in rows])
        for k in range(1, width + 1):
            stop(torch.cat([torch.zeros(len(rows), 1, dtype=torch.long), padded[:, :k]], dim=1), None)
        return rows


def ids(policy: HFPolicy, text: str) -> list[int]:
    return policy.tokenizer(text, add_special_tokens=False)["input_ids"]


def test_env_text_is_masked_out_and_finished_episodes_are_not_stepped_again():
    venv, envs = tiny_agent_venv(4, max_searches=2)
    assert search_budget(venv) == 2
    # rows 0, 1 (example 0) search then answer; row 2 answers at once; row 3 searches twice and then writes nothing
    policy = ScriptedPolicy([[SEARCH, SEARCH, ANSWER, SEARCH], [ANSWER, ANSWER, SEARCH], ["lamp"]])
    played = play_episodes(policy, venv, [0, 1], 2, SamplingConfig(max_new_tokens=64))
    rollout = played.rollout

    # the env's text after a search, from a fresh env replaying the turn: the observation's new part, verbatim
    replay, _ = tiny_agent_venv(1, max_searches=2)
    replay_env = replay.envs[0]
    obs0, _ = replay_env.reset(options={"index": 0, "split": "train"})
    obs1 = replay_env.step(SEARCH)[0]
    env_text = ids(policy, obs1[len(obs0) :])
    prompt = ids(policy, policy.render([obs0])[0])
    expected = ids(policy, SEARCH) + env_text + ids(policy, ANSWER)
    mask = [1] * len(ids(policy, SEARCH)) + [0] * len(env_text) + [1] * len(ids(policy, ANSWER))
    for row in (0, 1):
        assert rollout.completion_ids[row, : len(expected)].tolist() == expected
        assert rollout.completion_mask[row].tolist() == mask + [0] * (rollout.completion_ids.shape[1] - len(mask))
        kept = rollout.completion_ids[row][rollout.completion_mask[row].bool()]
        assert policy.tokenizer.decode(kept) == f"{SEARCH} {ANSWER}"  # the policy's turns, nothing else
        assert rollout.texts[row] == f"{SEARCH}\n{ANSWER}"  # "bag bag" after each block was cut off
        assert rollout.prompt_ids[row][rollout.prompt_mask[row].bool()].tolist() == prompt
    assert policy.contexts[1][0] == prompt + ids(policy, SEARCH) + env_text  # turn 2 continued the token ids
    assert rollout.completion_mask[2].tolist()[: len(ids(policy, ANSWER)) + 1] == [1] * len(ids(policy, ANSWER)) + [0]

    # the returns are the answers' rewards; row 3 spent its budget: truncated, the no-answer reward
    replay_env.reset(options={"index": 1, "split": "train"})
    assert played.returns[2] == replay_env.step(ANSWER)[1]
    assert played.returns[3] == replay_env.no_answer_reward
    assert [(i["num_searches"], i["num_turns"], i["answered"]) for i in played.infos] == [
        (1, 2, True), (1, 2, True), (0, 1, True), (2, 3, False)]  # fmt: skip

    # each played episode (the first of its sub-env) was stepped once per turn; later steps belong to the episode
    # the autoreset started and carry the empty action (no search, no score)
    for env, turns in zip(envs, (2, 2, 1, 3)):
        assert len([a for episode, a in env.log if episode == 1]) == turns  # each sub-env was reset once
        assert all(a == "" for episode, a in env.log if episode > 1)
    assert envs[2].log == [(1, ANSWER), (2, "")]  # answered at turn 1, autoreset at turn 2, an empty turn at turn 3


def test_update_logprobs_are_the_sampled_contexts_teacher_forced():
    model, tokenizer = tiny_policy(seed=1, words=WORDS)
    policy = HFPolicy(model, tokenizer)
    venv, _ = tiny_agent_venv(4, max_searches=2)
    rollout = play_episodes(policy, venv, [0, 2], 2, SamplingConfig(max_new_tokens=6)).rollout  # greedy
    mask = rollout.completion_mask.bool()
    gaps = [(row.cumsum(0) > 0) & ~row & (row.flip(0).cumsum(0).flip(0) > 0) for row in mask]
    assert any(g.any() for g in gaps)  # env text between policy turns

    logp, _ = policy.token_logprobs(rollout, temperature=1.0)  # what update() scores
    for row in range(len(rollout)):
        prompt = rollout.prompt_ids[row][rollout.prompt_mask[row].bool()]
        length = int(mask[row].nonzero().max()) + 1
        sequence = torch.cat([prompt, rollout.completion_ids[row, :length]])
        with torch.no_grad():
            logits = model(sequence[None]).logits[0, len(prompt) - 1 : -1]
        fresh = torch.log_softmax(logits.float(), dim=-1).gather(1, sequence[len(prompt) :, None]).squeeze(1)
        on = mask[row, :length]
        torch.testing.assert_close(logp[row, :length][on], fresh[on], atol=1e-5, rtol=1e-5)
        assert (logp[row][~mask[row]] == 0).all()
        # greedy sampling: every policy token is the argmax given the context it was sampled in
        assert torch.equal(logits.argmax(-1)[on], sequence[len(prompt) :][on])


def test_grpo_trains_on_the_shop_agent_env(tmp_path: Path):
    settings = {
        "num_generations": 2, "prompts_per_step": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 6,
        "micro_batch_size": 4, "beta": 0.0, "num_steps": 2, "eval_every": 2, "eval_max_examples": 4,
        "save_every": 0, "skip_zero_std_groups": False, "raw_relative_loss_weight": None,
        "output_dir": str(tmp_path / "run"),
    }  # fmt: skip
    venv = gym.make_vec("RecR1/Shop-BM25-Agent-v0", num_envs=4, dataset_kwargs=SHOP)
    agent = GRPOAgent(GRPOConfig(**settings), *tiny_policy(seed=0, words=WORDS))
    history = agent.train(venv, progress=False)
    assert [r["step"] for r in history] == [1, 2]
    for record in history:
        assert 1 <= record["turns_per_episode"] <= 3 and 0 <= record["searches_per_episode"] <= 2
        assert 0 <= record["no_answer_frac"] <= 1 and "loss" in record and record["completion_len"] > 0
    assert {"val/reward", "val/searches_per_episode", "val/no_answer_frac"} <= set(history[-1])

    prefixed = GRPOAgent(GRPOConfig(**{**settings, "response_prefix": "The query:"}), *tiny_policy(seed=0))
    with pytest.raises(ValueError, match="response_prefix"):
        prefixed.train_step(venv)


def test_raw_relative_reward_shapes_the_episode_return_against_answering_the_raw_query(tmp_path: Path):
    settings = {
        "num_generations": 2, "prompts_per_step": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 6,
        "micro_batch_size": 4, "beta": 0.0, "eval_every": 0, "save_every": 0, "skip_zero_std_groups": False,
        "raw_relative_loss_weight": 1.0, "output_dir": str(tmp_path / "run"),
    }  # fmt: skip
    venv = gym.make_vec("RecR1/Shop-BM25-Agent-v0", num_envs=4, dataset_kwargs=SHOP)
    record = GRPOAgent(GRPOConfig(**settings), *tiny_policy(seed=0, words=WORDS)).train_step(venv)
    # the raw query's reward, from the single-step twin, for the step's examples (each on G=2 sub-envs)
    single = gym.make("RecR1/Shop-BM25-v0", dataset_kwargs=SHOP)
    raw = []
    for index in visit_order(0, 0, 2, num_examples(venv, "train")):
        _, info = single.reset(options={"index": index, "split": "train"})
        raw += [single.step(info["raw_action"])[1]] * 2
    assert record["raw_reward"] == pytest.approx(sum(raw) / 4) and record["raw_reward"] > 0
    assert record["reward_mean"] == pytest.approx(record["env_reward"] - record["raw_reward"], abs=1e-6)  # weight 1
