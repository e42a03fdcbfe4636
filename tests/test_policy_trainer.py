"""PolicyTrainer's randomness is its own: ``train`` samples from a stream seeded by ``config.seed`` (saved in
checkpoints, so resume stays exact: tests/test_agents_grpo.py), and never reseeds or advances the caller's RNGs."""

from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import torch
from test_agents_fake_env import KeywordVectorEnv
from test_agents_grpo import char_length_reward, make_agent, untimed


def _global_states() -> tuple:
    return random.getstate(), np.random.get_state()[1].tolist(), torch.get_rng_state()


def test_training_neither_touches_nor_depends_on_the_callers_rng(tmp_path: Path) -> None:
    venv = KeywordVectorEnv(8, reward_fn=char_length_reward)  # rewards follow the sampled completions' lengths
    random.seed(5)
    np.random.seed(5)
    torch.manual_seed(5)
    before = _global_states()
    first = make_agent(tmp_path / "a", num_steps=2).train(venv, progress=False)
    after = _global_states()
    assert after[0] == before[0] and after[1] == before[1] and torch.equal(after[2], before[2])

    torch.manual_seed(123)  # another caller state, the same seed in the config: the same run
    second = make_agent(tmp_path / "b", num_steps=2).train(venv, progress=False)
    assert [untimed(r) for r in second] == [untimed(r) for r in first]
    other_seed = make_agent(tmp_path / "c", num_steps=2, seed=1).train(venv, progress=False)
    assert [untimed(r) for r in other_seed] != [untimed(r) for r in first]


def test_fused_and_foreach_adamw_take_the_same_step(tmp_path: Path) -> None:
    """``optim`` picks torch's AdamW implementation; the fused kernel and the multi-tensor one (the default) agree
    to float rounding on the same run, and an unknown name is refused at config time."""
    venv = KeywordVectorEnv(8, reward_fn=char_length_reward)
    fused = make_agent(tmp_path / "f", num_steps=1, learning_rate=1e-3, optim="adamw_torch_fused")
    foreach = make_agent(tmp_path / "e", num_steps=1, learning_rate=1e-3)  # the default
    start = {n: p.detach().clone() for n, p in fused.policy.model.named_parameters()}
    fused.train(venv, progress=False)
    foreach.train(venv, progress=False)
    assert fused.optimizer.defaults["fused"] and not foreach.optimizer.defaults["fused"]
    assert foreach.optimizer.defaults["foreach"]
    moved = 0
    for (name, a), b in zip(fused.policy.model.named_parameters(), foreach.policy.model.parameters(), strict=True):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-7, msg=name)
        moved += int(not torch.equal(a, start[name]))
    assert moved > 0  # the step did move weights, so the equality above compares real updates
    with pytest.raises(ValueError, match="optim in"):
        make_agent(tmp_path / "x", optim="sgd")
