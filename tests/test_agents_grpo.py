"""GRPOAgent on a tiny random policy and the fake env: updates lower the loss (LoRA and full fine-tuning), a
resumed run repeats the uninterrupted one exactly, zero-spread groups are skipped, and GRPO learns the best rewrite.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from test_agents_fake_env import REAL_ENV_IDS, TARGET, KeywordVectorEnv

from recgym.agents import load_agent
from recgym.agents.checkpoint import latest_checkpoint
from recgym.agents.grpo import GRPOAgent, GRPOConfig, clipped_policy_loss
from recgym.agents.hf_policy import SamplingConfig
from recgym.models import tiny_policy

PROMPTS = ["rewrite query red shoes", "rewrite query green bag"]
TIMING_KEYS = ("sec_per_step", "val/sec")


def char_length_reward(action: str, query: str) -> float:
    """Varies with almost every completion, so no group is ever skipped."""
    return float(len(action))


def make_agent(tmp_path: Path, **overrides) -> GRPOAgent:
    settings = {
        "num_generations": 4, "prompts_per_step": 2, "temperature": 1.0, "top_p": 1.0, "max_new_tokens": 5,
        "learning_rate": 1e-2, "micro_batch_size": 3, "beta": 0.0, "num_steps": 3, "eval_every": 0,
        "save_every": 0, "output_dir": str(tmp_path / "run"),
    }
    settings.update(overrides)
    model, tokenizer = tiny_policy(seed=0)
    return GRPOAgent(GRPOConfig(**settings), model, tokenizer)


def untimed(record: dict) -> dict:
    return {k: v for k, v in record.items() if k not in TIMING_KEYS}


def params(agent: GRPOAgent) -> dict[str, torch.Tensor]:
    return {k: v.detach().clone() for k, v in agent.policy.model.named_parameters()}


@pytest.mark.parametrize("lora_r", [0, 4])
def test_updates_reduce_the_loss_on_a_fixed_batch(tmp_path: Path, lora_r: int) -> None:
    agent = make_agent(tmp_path, lora_r=lora_r, num_iterations=4, beta=0.1 if lora_r else 0.0)
    torch.manual_seed(0)
    batch = agent.policy.sample(PROMPTS, n=4, sampling=agent.rollout_sampling)
    advantages = torch.tensor([1.0, -1.0, 0.5, -0.5] * 2)
    old = agent.policy.batched_logprobs(batch, 8, temperature=1.0)
    mask = batch.completion_mask

    def loss() -> float:
        with torch.no_grad():
            logp, _ = agent.policy.token_logprobs(batch, temperature=1.0)
            return float(clipped_policy_loss(logp, old, None, advantages, mask)[0])

    before, weights_before = loss(), params(agent)
    stats = agent.update(batch, advantages)
    after, weights_after = loss(), params(agent)
    assert after < before - 1e-3, (before, after)
    changed = {k for k in weights_before if not torch.equal(weights_before[k], weights_after[k])}
    if lora_r:  # only adapters move; the KL to the adapter-free base is now positive
        assert changed and all("lora_" in k for k in changed)
        assert stats["kl"] > 0
    else:
        assert len(changed) == len(weights_before)
    assert stats["clip_frac"] > 0  # later passes move the ratio past the clip
    assert {"loss", "pg_loss", "approx_kl", "entropy", "grad_norm"} <= set(stats)


def test_lora_reference_is_the_base_model(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, lora_r=4, beta=0.1)
    base, _ = tiny_policy(seed=0)
    torch.manual_seed(0)
    batch = agent.policy.sample(PROMPTS, n=2, sampling=agent.rollout_sampling)
    with torch.no_grad():
        next(p for n, p in agent.policy.model.named_parameters() if "lora_B" in n).add_(0.5)
    ref = agent._reference_logprobs(batch)
    torch.testing.assert_close(ref, agent.policy.batched_logprobs(batch, 8, model=base))
    assert not torch.allclose(ref, agent.policy.batched_logprobs(batch, 8))


@pytest.mark.parametrize("lora_r", [0, 4])
def test_resume_from_a_checkpoint_repeats_the_uninterrupted_run(tmp_path: Path, lora_r: int) -> None:
    # Full fine-tuning with beta > 0 also exercises the frozen reference copy; two passes exercise old log-probs.
    overrides = {"lora_r": lora_r, "beta": 0.05, "num_iterations": 2, "save_every": 2, "eval_every": 2}
    venv = KeywordVectorEnv(8, reward_fn=char_length_reward)
    full = make_agent(tmp_path, **overrides)
    history = full.train(venv, progress=False)
    final = params(full)
    run = Path(full.config.output_dir)
    assert latest_checkpoint(run).name == "step-000003"
    # Crash after step 3 but before its checkpoint: drop it; metrics.jsonl still has step 3's line.
    shutil.rmtree(run / "checkpoints" / "step-000003")

    resumed = make_agent(tmp_path, **overrides)
    again = resumed.train(venv, resume=True, progress=False)
    assert [r["step"] for r in again] == [3]
    assert untimed(again[0]) == untimed(history[2])
    for name, value in params(resumed).items():
        assert torch.equal(value, final[name]), name
    logged = [json.loads(line)["step"] for line in (run / "metrics.jsonl").read_text().splitlines()]
    assert logged == [1, 2, 3]


def test_zero_spread_groups_are_skipped_before_any_update(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, num_steps=2, save_every=1)
    venv = KeywordVectorEnv(8, reward_fn=lambda action, query: 0.5)
    before = params(agent)
    calls = []
    agent.policy.model.forward = _counting(agent.policy.model.forward, calls)
    history = agent.train(venv, progress=False)
    assert all(r["frac_zero_std"] == 1.0 and r["groups_skipped"] == 2 for r in history)
    assert "loss" not in history[0]
    assert all(torch.equal(v, before[k]) for k, v in params(agent).items())
    assert all(call.get("use_cache", True) for call in calls)  # only generation ran, no training forward


def _counting(forward, calls):
    def wrapped(*args, **kwargs):
        calls.append(kwargs)
        return forward(*args, **kwargs)

    return wrapped


def test_each_step_is_one_generate_call_and_one_env_step(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, num_steps=2)
    venv = KeywordVectorEnv(8, reward_fn=char_length_reward)
    generate_calls = []
    agent.policy.model.generate = _counting(agent.policy.model.generate, generate_calls)
    history = agent.train(venv, progress=False)
    assert len(generate_calls) == 2 and venv.step_calls == 2
    record = history[-1]
    for key in ("reward_mean", "reward_std", "ndcg@10", "format_ok", "kl", "clip_frac", "entropy", "completion_len",
                "frac_zero_std", "sec_per_step", "loss", "grad_norm"):
        assert key in record, key
    assert 1 <= record["completion_len"] <= 5
    run = Path(agent.config.output_dir)
    assert GRPOConfig.load(run / "config.json") == agent.config
    assert len((run / "metrics.jsonl").read_text().splitlines()) == 2


def test_saved_agent_loads_and_acts_the_same(tmp_path: Path) -> None:
    for lora_r in (0, 4):
        agent = make_agent(tmp_path, lora_r=lora_r, num_steps=1)
        agent.train(KeywordVectorEnv(8, reward_fn=char_length_reward), progress=False)
        agent.save(tmp_path / f"agent-{lora_r}")
        base = tiny_policy(seed=0) if lora_r else (None, None)
        loaded = load_agent(tmp_path / f"agent-{lora_r}", model=base[0], tokenizer=base[1])
        assert isinstance(loaded, GRPOAgent) and loaded.config == agent.config
        assert loaded.act(PROMPTS) == agent.act(PROMPTS)


def test_grpo_learns_the_clearly_best_rewrite(tmp_path: Path) -> None:
    """Reward 1 iff the completion contains one particular word (~8% of random 4-token completions do)."""
    agent = make_agent(
        tmp_path, num_generations=8, prompts_per_step=2, max_new_tokens=4, micro_batch_size=16, num_steps=20,
        eval_every=10, seed=0,
    )

    def success_rate() -> float:
        torch.manual_seed(123)
        rollout = agent.policy.sample(PROMPTS, n=64, sampling=SamplingConfig(4, temperature=1.0))
        return sum(TARGET in text.split() for text in rollout.texts) / len(rollout)

    before = success_rate()
    history = agent.train(KeywordVectorEnv(16), progress=False)
    after = success_rate()
    assert before < 0.2
    assert after > 0.7 and after - before > 0.5, (before, after)
    assert history[-1]["val/reward"] == 1.0  # greedy decoding now always writes the word


@pytest.mark.skipif(not REAL_ENV_IDS, reason="recgym's envs are not registered")
def test_grpo_trains_against_the_real_env_api(tmp_path: Path) -> None:
    import gymnasium as gym

    agent = make_agent(tmp_path, num_generations=4, prompts_per_step=1, num_steps=2, eval_every=2, eval_max_examples=4)
    venv = gym.make_vec(REAL_ENV_IDS[0], num_envs=4, reward="expand")
    history = agent.train(venv, progress=False)
    assert [r["step"] for r in history] == [1, 2]
    for key in ("reward_mean", "ndcg@10", "recall@100", "format_ok", "val/ndcg@10", "val/reward"):
        assert key in history[-1], key
    assert latest_checkpoint(agent.config.output_dir).name == "step-000002"
