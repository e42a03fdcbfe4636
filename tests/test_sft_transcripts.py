"""Format SFT for the multi-turn search-agent env: a scripted agent's episodes become (text, trained) segments, the
env's text stays in the context but out of the loss, SFTAgent mines them from an agent env by itself, and the cpu
preset of ``recgym train`` on an agent id is the agent variant."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import pytest

import recgym  # noqa: F401  (registers the ids)
from recgym.agents import PRFSearchAgent, SFTAgent, SFTConfig, run_episode
from recgym.agents.grpo import GRPOConfig
from recgym.agents.sft import transcripts_from_agent
from recgym.cli import build_config, build_parser
from recgym.models import tiny_policy

SHOP = {"num_products": 300, "num_queries": 120}
AGENT_ID = "RecR1/Shop-BM25-Agent-v0"


def test_transcripts_are_the_scripted_episodes_with_the_env_text_between_turns() -> None:
    venv = gym.make_vec(AGENT_ID, num_envs=4, reward="expand", dataset_kwargs=SHOP)
    pairs = transcripts_from_agent(PRFSearchAgent(venv, fb_docs=3, fb_terms=3), venv, "train", max_examples=6)
    assert len(pairs) == 6  # two batches of 4, the second padded

    env = gym.make(AGENT_ID, reward="expand", dataset_kwargs=SHOP)
    teacher = PRFSearchAgent(env, fb_docs=3, fb_terms=3)
    for index, pair in enumerate(pairs):
        assert [trained for _, trained in pair.completion] == [True, False, True]  # search, titles, answer
        search, titles, answer = (text for text, _ in pair.completion)
        obs0, info = env.reset(options={"index": index, "split": "train"})
        assert pair.prompt == obs0 and search == f"<search>{info['raw_query']}</search>"
        obs1, reward, *_ = env.step(search)
        assert titles == obs1[len(obs0) :] and "<information>" in titles and reward == 0
        _, reward, terminated, _, _ = env.step(answer)
        assert terminated and answer.startswith("<answer>") and len(answer.split()) <= 4  # 3 words
        total, _, steps = run_episode(teacher, env, {"index": index, "split": "train"})
        assert (total, steps) == (reward, 2)  # the transcript is the teacher's episode


def test_teacher_forced_masks_the_env_segments_and_cuts_only_policy_turns() -> None:
    model, tokenizer = tiny_policy(seed=0)
    agent = SFTAgent(SFTConfig(output_dir="unused"), model, tokenizer)
    policy = agent.policy
    segments = (("red shoes", True), ("blue lamp green bag", False), ("mug", True))
    batch = policy.teacher_forced(["p one", "p two"], [segments, "red"], max_completion_tokens=1)
    ids = {text: tokenizer(text, add_special_tokens=False)["input_ids"] for text, _ in segments}
    eos = policy.stop_ids[0]
    expected = ids["red shoes"][:1] + ids["blue lamp green bag"] + ids["mug"][:1] + [eos]  # env text is never cut
    mask = [1] + [0] * len(ids["blue lamp green bag"]) + [1, 1]
    assert len(ids["red shoes"]) > 1 and len(ids["blue lamp green bag"]) > 1
    assert batch.completion_ids[0, : len(expected)].tolist() == expected
    assert batch.completion_mask[0].tolist() == mask
    assert batch.completion_mask[1].tolist() == [1, 1] + [0] * (len(mask) - 2)  # "red" + stop, then padding
    assert batch.texts == ["red shoesblue lamp green bagmug", "red"]


def test_sft_on_an_agent_env_learns_the_prf_episodes(tmp_path: Path) -> None:
    venv = gym.make_vec(AGENT_ID, num_envs=4, reward="expand", dataset_kwargs=SHOP)
    config = SFTConfig(batch_size=4, micro_batch_size=4, learning_rate=3e-3, num_steps=6, max_new_tokens=4,
                       eval_every=0, save_every=0, output_dir=str(tmp_path / "run"))
    agent = SFTAgent(config, *tiny_policy(seed=0))
    expected = transcripts_from_agent(PRFSearchAgent(venv, fb_docs=3, fb_terms=3), venv, "train")
    before = agent.nll(expected[:4])
    history = agent.train(venv, progress=False)
    assert agent.pairs == expected  # mined by itself from the agent env: the PRF agent's episodes
    assert agent.nll(expected[:4]) < before - 0.5 and history[-1]["loss"] < history[0]["loss"]


@pytest.mark.parametrize(("env_id", "prefix", "tokens", "weight", "prompts"), [
    (AGENT_ID, "", 32, None, 4),
    ("RecR1/Shop-BM25-v0", "The shopper is looking for a", 5, 0.0, 8),
])
def test_cpu_preset_picks_the_agent_variant_for_agent_ids(env_id: str, prefix: str, tokens: int,
                                                          weight: float | None, prompts: int) -> None:
    config = build_config(build_parser().parse_args(["train", "--env", env_id]))
    assert isinstance(config, GRPOConfig)
    assert (config.response_prefix, config.max_new_tokens) == (prefix, tokens)
    assert (config.raw_relative_loss_weight, config.prompts_per_step) == (weight, prompts)
    assert config.learning_rate == 2e-5
    sft = build_config(build_parser().parse_args(["train", "--algo", "sft", "--env", env_id]))
    assert isinstance(sft, SFTConfig) and sft.num_steps == SFTConfig.cpu().num_steps
