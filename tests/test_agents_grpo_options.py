"""GRPOAgent's TRL/paper options wired end to end on a tiny random policy and the fake env: the trainer's update
equals the loss function with every option, DAPO's dynamic sampling fills steps with informative groups, the
collapse guard fires on a collapsing run (and stops it) but not on a healthy one, and the public ``train_step``.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import pytest
import torch
from test_agents_fake_env import QUERIES, KeywordVectorEnv
from test_agents_grpo import make_agent  # the one tiny-policy GRPO agent factory of the GRPO tests

from recgym.agents.grpo import GRPOConfig, clipped_policy_loss
from recgym.agents.grpo.loss import high_entropy_mask
from recgym.agents.policy_trainer import visit_order

PROMPTS = ["rewrite query red shoes", "rewrite query green bag"]


def char_length_reward(action: str, query: str) -> float:
    return float(len(action))


# ------------------------------------------------------------------------------------------------------- config
def test_clip_eps_is_a_deprecated_alias_of_epsilon() -> None:
    with pytest.warns(DeprecationWarning, match="epsilon"):
        config = GRPOConfig(clip_eps=0.1)
    assert config.epsilon == 0.1 and config.clip_eps is None
    with pytest.warns(DeprecationWarning):  # an old run's config.json
        assert GRPOConfig.from_dict({"clip_eps": 0.3}).epsilon == 0.3
    assert GRPOConfig.from_dict(config.to_dict()) == config


@pytest.mark.parametrize(
    "bad", [{"loss_type": "ppo"}, {"scale_rewards": "global"}, {"importance_sampling_level": "batch"},
            {"top_entropy_quantile": 1.5}, {"max_resample_rounds": -1}, {"epsilon": 0.0}],
)
def test_invalid_options_are_rejected(bad: dict) -> None:
    with pytest.raises(ValueError, match=next(iter(bad))):
        GRPOConfig(**bad)


# ------------------------------------------------------------------------------------------------------- update
OPTION_SETS = [
    {"loss_type": "grpo", "importance_sampling_level": "sequence"},
    {"loss_type": "dr_grpo", "epsilon_high": 0.28},
    {"loss_type": "bnpo", "top_entropy_quantile": 0.3},
    {"loss_type": "dapo", "mask_truncated_completions": True, "beta": 0.05, "use_bias_correction_kl": True},
]


@pytest.mark.parametrize("options", OPTION_SETS, ids=lambda o: "-".join(map(str, o.values())))
def test_update_reports_the_loss_of_its_options(tmp_path: Path, options: dict) -> None:
    """One pass: the loss the trainer logs (computed before its optimizer step) equals ``clipped_policy_loss`` on the
    same rollout with the same options, summed over the trainer's micro-batches of 3."""
    agent = make_agent(tmp_path, lora_r=4 if options.get("beta") else 0, **options)
    cfg = agent.config
    torch.manual_seed(0)
    batch = agent.policy.sample(PROMPTS, n=4, sampling=agent.rollout_sampling)
    advantages = torch.tensor([1.0, -1.0, 0.5, -0.5, 0.3, -0.2, 0.9, -1.0])
    truncated = torch.tensor([False, True, False, False, True, False, False, False])
    mask = batch.completion_mask
    if cfg.mask_truncated_completions:
        mask = mask * (~truncated).unsqueeze(1)
    expected = 0.0
    with torch.no_grad():
        ref = agent._reference_logprobs(batch) if cfg.beta else None
        for start in range(0, 8, 3):
            rows = slice(start, start + 3)
            logp, entropy = agent.policy.token_logprobs(batch.select(rows), 1.0, with_entropy=True)
            keep = high_entropy_mask(entropy, mask[rows], cfg.top_entropy_quantile) if cfg.top_entropy_quantile < 1 else None
            expected += float(clipped_policy_loss(
                logp, logp, None if ref is None else ref[rows], advantages[rows], mask[rows], epsilon=cfg.epsilon,
                beta=cfg.beta, num_tokens=mask.sum(), epsilon_high=cfg.epsilon_high, loss_type=cfg.loss_type,
                importance_sampling_level=cfg.importance_sampling_level, entropy_mask=keep,
                use_bias_correction_kl=cfg.use_bias_correction_kl, num_sequences=8, max_completion_length=5,
                num_micro_batches=3,
            )[0])
    stats = agent.update(batch, advantages, truncated=truncated)
    assert stats["loss"] == pytest.approx(expected, abs=1e-6)
    assert stats["grad_norm"] > 0


def test_all_truncated_rows_masked_means_no_update(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, mask_truncated_completions=True)
    batch = agent.policy.sample(PROMPTS, n=2, sampling=agent.rollout_sampling)
    before = {k: v.clone() for k, v in agent.policy.model.state_dict().items()}
    assert agent.update(batch, torch.ones(4), truncated=torch.ones(4, dtype=torch.bool)) == {}
    assert all(torch.equal(v, before[k]) for k, v in agent.policy.model.state_dict().items())


# --------------------------------------------------------------------------------------------- dynamic sampling
INFORMATIVE = QUERIES["train"][0]  # only this training query's groups get a reward spread


def mostly_flat_reward(action: str, query: str) -> float:
    return float(len(action)) if query == INFORMATIVE else 0.0


def test_dynamic_sampling_fills_the_step_with_informative_groups(tmp_path: Path) -> None:
    P, G, R = 2, 4, 4
    agent = make_agent(tmp_path, prompts_per_step=P, num_generations=G, dynamic_sampling=True,
                       max_resample_rounds=R, num_steps=4)
    venv = KeywordVectorEnv(P * G, reward_fn=mostly_flat_reward)
    resets, batch_sizes = [], []
    reset, update = venv.reset, agent.update
    def recording_reset(**kw):
        if "indices" in kw.get("options", {}):  # the trainer's group resets (not its split-size probe)
            resets.append(kw["options"]["indices"][::G])
        return reset(**kw)

    venv.reset = recording_reset
    agent.update = lambda batch, adv, **kw: batch_sizes.append(len(batch)) or update(batch, adv, **kw)
    history = agent.train(venv, progress=False)

    num_train, seen = len(QUERIES["train"]), 0
    for step, record in enumerate(history):
        # Rounds of P prompts walk the seeded visit order from the step's reserved position until P informative
        # groups are found or the R extra rounds are spent.
        found, rounds = 0, 0
        while rounds <= R and found < P:
            indices = visit_order(0, (step * (R + 1) + rounds) * P, P, num_train)
            assert resets[seen] == indices
            found += sum(i == 0 for i in indices)
            seen, rounds = seen + 1, rounds + 1
        assert record["informative_groups"] == min(found, P)
        assert record["resampled_prompts"] == P * (rounds - 1)
        assert record["informative_groups"] == P or record["resampled_prompts"] == P * R
        assert record["groups_skipped"] == P * rounds - record["informative_groups"]
    assert seen == len(resets)
    # Both endings occur: step 2 spends all R rounds (8 extra prompts) and finds one informative group.
    assert [r["informative_groups"] for r in history] == [2, 1, 2, 2]
    assert [r["resampled_prompts"] for r in history] == [8, 8, 6, 8]
    assert batch_sizes == [G * r["informative_groups"] for r in history]  # only informative groups were trained on


def test_without_dynamic_sampling_flat_groups_are_only_skipped(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, num_steps=3)
    history = agent.train(KeywordVectorEnv(8, reward_fn=mostly_flat_reward), progress=False)
    for step, record in enumerate(history):
        informative = sum(i == 0 for i in visit_order(0, step * 2, 2, len(QUERIES["train"])))
        assert record["resampled_prompts"] == 0
        assert record["informative_groups"] == informative and record["groups_skipped"] == 2 - informative


# ------------------------------------------------------------------------------------------------ collapse guard
def short_is_better(action: str, query: str) -> float:
    return -float(len(action))  # the optimum is the empty completion: the policy collapses onto end-of-turn


def test_collapse_guard_fires_and_stops_a_collapsing_run(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, learning_rate=0.1, num_steps=40, collapse_min_distinct=0.3, collapse_patience=3,
                       stop_on_collapse=True)
    with pytest.warns(RuntimeWarning, match="policy collapse"):
        history = agent.train(KeywordVectorEnv(8, reward_fn=short_is_better), progress=False)
    last = history[-1]
    assert len(history) < 40 and "stop_reason" in last and agent.step == len(history)
    assert last["collapse_streak"] == 3
    assert all(r["distinct_frac"] == 0.25 for r in history[-3:])  # one distinct completion in each group of 4
    assert last["top_completion"] == "" and last["top_completion_share"] == 1.0
    assert history[0]["distinct_frac"] > 0.5 and "top_completion_share" not in history[0]
    logged = (Path(agent.config.output_dir) / "metrics.jsonl").read_text().splitlines()
    assert len(logged) == len(history)


def test_collapse_guard_stays_quiet_on_a_healthy_run(tmp_path: Path) -> None:
    agent = make_agent(tmp_path, learning_rate=1e-3, num_steps=6, collapse_min_distinct=0.3, collapse_patience=3,
                       stop_on_collapse=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        history = agent.train(KeywordVectorEnv(8, reward_fn=char_length_reward), progress=False)
    assert len(history) == 6 and not any("stop_reason" in r for r in history)
    assert all(r["distinct_frac"] >= 0.75 and r["collapse_streak"] == 0 for r in history)
    assert all(0 <= r["top_completion_share"] <= 0.25 for r in history[1:])


# ------------------------------------------------------------------------------------------------- public step
def test_train_step_is_one_step_without_logs(tmp_path: Path) -> None:
    agent = make_agent(tmp_path)
    venv = KeywordVectorEnv(8, reward_fn=char_length_reward)
    first, second = agent.train_step(venv), agent.train_step(venv)
    assert (first["step"], second["step"], agent.step) == (1, 2, 2)
    assert {"reward_mean", "loss", "distinct_frac", "informative_groups", "sec_per_step"} <= set(second)
    assert not (Path(agent.config.output_dir) / "metrics.jsonl").exists()
    with pytest.raises(ValueError, match="sub-envs"):
        agent.train_step(KeywordVectorEnv(4))
