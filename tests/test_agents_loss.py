"""GRPO's advantage and loss against values worked out by hand."""

from __future__ import annotations

import math

import pytest
import torch

from recgym.agents.grpo.loss import K3_CLAMP, clipped_policy_loss, group_advantages, k3_kl


def test_group_advantages_normalise_within_each_group_and_flag_equal_rewards() -> None:
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 3.0]])
    adv, zero_std = group_advantages(rewards, eps=0.0)
    # group 0: mean 0.5, unbiased std sqrt(1/3) -> +-0.5 * sqrt(3); group 2: mean 0.75, std 1.5.
    h = 0.5 * math.sqrt(3)
    expected = torch.tensor([[h, -h, -h, h], [0.0, 0.0, 0.0, 0.0], [-0.5, -0.5, -0.5, 1.5]])
    torch.testing.assert_close(adv, expected)
    assert zero_std.tolist() == [False, True, False]
    # eps only shrinks the scale slightly; equal-reward groups stay exactly zero (no 0/0).
    adv_eps, _ = group_advantages(rewards, eps=1e-6)
    assert torch.isfinite(adv_eps).all() and (adv_eps[1] == 0).all()
    torch.testing.assert_close(adv_eps, expected, atol=1e-5, rtol=1e-5)


def test_group_advantages_reject_flat_input() -> None:
    with pytest.raises(ValueError, match="n_groups, G"):
        group_advantages(torch.zeros(4))


# Ratios r = [[1.5, 0.9], [0.5, 1.1]], advantages [1, -2], the last token masked out, clip 0.2:
#   row 0 (A=+1): max(-1.5, -1.2) = -1.2 (clipped), max(-0.9, -0.9) = -0.9
#   row 1 (A=-2): max(1.0, 1.6) = 1.6 (clipped)
#   pg token mean = (-1.2 - 0.9 + 1.6) / 3 = -1/6; clip fraction 2/3
# ref - logp = [[ln 2, 0], [-ln 2, *]] -> k3 = [2 - ln2 - 1, 0, 0.5 + ln2 - 1] -> mean 0.5 / 3 = 1/6
RATIO = torch.tensor([[1.5, 0.9], [0.5, 1.1]])
OLD = torch.tensor([[-1.0, -2.0], [-0.5, -3.0]])
LOGP = OLD + RATIO.log()
REF = LOGP + torch.tensor([[math.log(2.0), 0.0], [-math.log(2.0), 5.0]])
ADV = torch.tensor([1.0, -2.0])
MASK = torch.tensor([[1, 1], [1, 0]])


def test_clipped_policy_loss_matches_hand_computed_values() -> None:
    loss, stats = clipped_policy_loss(LOGP, OLD, REF, ADV, MASK, clip_eps=0.2, beta=0.1)
    torch.testing.assert_close(stats["pg_loss"], torch.tensor(-1 / 6))
    torch.testing.assert_close(stats["kl"], torch.tensor(1 / 6))
    torch.testing.assert_close(loss, torch.tensor(-1 / 6 + 0.1 / 6))
    torch.testing.assert_close(stats["clip_frac"], torch.tensor(2 / 3))
    approx_kl = -(math.log(1.5) + math.log(0.9) + math.log(0.5)) / 3
    torch.testing.assert_close(stats["approx_kl"], torch.tensor(approx_kl))


def test_clipped_tokens_get_no_policy_gradient() -> None:
    logp = LOGP.clone().requires_grad_(True)
    loss, _ = clipped_policy_loss(logp, OLD, None, ADV, MASK, clip_eps=0.2, beta=0.0)
    loss.backward()
    # d/dlogp of -A * r / n_tokens where unclipped; zero where the clip is active or the token is masked.
    expected = torch.tensor([[0.0, -1.0 * 0.9 / 3], [0.0, 0.0]])
    torch.testing.assert_close(logp.grad, expected)


def test_micro_batch_losses_add_up_to_the_batch_token_mean() -> None:
    full, _ = clipped_policy_loss(LOGP, OLD, REF, ADV, MASK, beta=0.1)
    parts = [
        clipped_policy_loss(LOGP[i : i + 1], OLD[i : i + 1], REF[i : i + 1], ADV[i : i + 1], MASK[i : i + 1], beta=0.1,
                            num_tokens=MASK.sum())[0]
        for i in range(2)
    ]
    torch.testing.assert_close(parts[0] + parts[1], full)


def test_k3_kl_is_zero_at_equality_nonnegative_and_clamped() -> None:
    logp = torch.tensor([-1.0, -1.0, -1.0, -1.0])
    ref = torch.tensor([-1.0, -1.0 + math.log(2.0), -3.0, 30.0])
    kl = k3_kl(logp, ref)
    torch.testing.assert_close(kl[:3], torch.tensor([0.0, 2.0 - math.log(2.0) - 1.0, math.exp(-2.0) + 2.0 - 1.0]))
    assert kl[3] == K3_CLAMP
    assert (kl >= 0).all()


def test_beta_without_reference_is_an_error() -> None:
    with pytest.raises(ValueError, match="ref_logp"):
        clipped_policy_loss(LOGP, OLD, None, ADV, MASK, beta=0.1)
