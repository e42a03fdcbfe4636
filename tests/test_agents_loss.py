"""GRPO's advantage and loss against values worked out by hand: every loss_type, scale_rewards, epsilon_high,
sequence-level importance sampling, the high-entropy token mask and truncated-completion masking."""

from __future__ import annotations

import math

import pytest
import torch

from recgym.agents.grpo.loss import (
    K3_CLAMP,
    clipped_policy_loss,
    group_advantages,
    high_entropy_mask,
    k3_kl,
    truncated_rows,
)


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


def test_scale_rewards_batch_and_none() -> None:
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0], [0.5, 0.5, 0.5, 0.5], [0.0, 0.0, 0.0, 3.0]])
    # none (Dr. GRPO): only centred within the group.
    adv, zero_std = group_advantages(rewards, eps=0.0, scale="none")
    centred = torch.tensor([[0.5, -0.5, -0.5, 0.5], [0.0] * 4, [-0.75, -0.75, -0.75, 2.25]])
    torch.testing.assert_close(adv, centred)
    assert zero_std.tolist() == [False, True, False]
    # batch: one unbiased std over all 12 rewards: sum 7, sum of squares 12 -> var = (12 - 49/12) / 11 = 95/132.
    adv, _ = group_advantages(rewards, eps=0.0, scale="batch")
    torch.testing.assert_close(adv, centred / math.sqrt(95 / 132))
    with pytest.raises(ValueError, match="scale"):
        group_advantages(rewards, scale="global")


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
    loss, stats = clipped_policy_loss(LOGP, OLD, REF, ADV, MASK, epsilon=0.2, beta=0.1)
    torch.testing.assert_close(stats["pg_loss"], torch.tensor(-1 / 6))
    torch.testing.assert_close(stats["kl"], torch.tensor(1 / 6))
    torch.testing.assert_close(loss, torch.tensor(-1 / 6 + 0.1 / 6))
    torch.testing.assert_close(stats["clip_frac"], torch.tensor(2 / 3))
    approx_kl = -(math.log(1.5) + math.log(0.9) + math.log(0.5)) / 3
    torch.testing.assert_close(stats["approx_kl"], torch.tensor(approx_kl))


def test_clipped_tokens_get_no_policy_gradient() -> None:
    logp = LOGP.clone().requires_grad_(True)
    loss, _ = clipped_policy_loss(logp, OLD, None, ADV, MASK, epsilon=0.2, beta=0.0)
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


# Per-token surrogate of the batch above (epsilon 0.2, beta 0): [[-1.2, -0.9], [1.6, masked]]; row means -1.05, 1.6.
@pytest.mark.parametrize(
    ("loss_type", "expected"),
    [
        ("dapo", (-1.2 - 0.9 + 1.6) / 3),  # token mean over the batch
        ("bnpo", (-1.2 - 0.9 + 1.6) / 3),  # one micro-batch: the same token mean
        ("grpo", (-1.05 + 1.6) / 2),  # mean of per-sequence means
        ("dr_grpo", (-1.2 - 0.9 + 1.6) / (2 * 4)),  # token sum / (2 sequences x max length 4)
    ],
)
def test_each_loss_type_aggregates_as_its_paper(loss_type: str, expected: float) -> None:
    loss, stats = clipped_policy_loss(LOGP, OLD, None, ADV, MASK, loss_type=loss_type, max_completion_length=4)
    torch.testing.assert_close(loss, torch.tensor(expected))
    torch.testing.assert_close(stats["pg_loss"], torch.tensor(expected))


@pytest.mark.parametrize("loss_type", ["dapo", "grpo", "dr_grpo", "bnpo"])
def test_micro_batches_add_up_for_every_loss_type(loss_type: str) -> None:
    """Summed over micro-batches the loss is the batch's; bnpo is TRL's local token mean / number of micro-batches,
    so with one row per micro-batch it equals grpo: (-2.1/2 + 1.6/1) / 2 = 0.275."""
    common = {"loss_type": loss_type, "max_completion_length": 4, "num_sequences": 2, "num_micro_batches": 2}
    parts = sum(
        clipped_policy_loss(LOGP[i : i + 1], OLD[i : i + 1], REF[i : i + 1], ADV[i : i + 1], MASK[i : i + 1],
                            beta=0.1, num_tokens=MASK.sum(), **common)[0]
        for i in range(2)
    )
    if loss_type == "bnpo":
        torch.testing.assert_close(parts, torch.tensor((-2.1 / 2 + 0.1 * (2 - math.log(2) - 1) / 2 + 1.6
                                                        + 0.1 * (0.5 + math.log(2) - 1)) / 2))
    else:
        full, _ = clipped_policy_loss(LOGP, OLD, REF, ADV, MASK, beta=0.1, loss_type=loss_type,
                                      max_completion_length=4)
        torch.testing.assert_close(parts, full)


def test_epsilon_high_raises_only_the_upper_clip() -> None:
    # DAPO clip-higher 0.28: row 0 token 0 (r=1.5, A=+1) now clips at 1.28; row 1 (r=0.5, A=-2) still at 0.8.
    loss, stats = clipped_policy_loss(LOGP, OLD, None, ADV, MASK, epsilon=0.2, epsilon_high=0.28)
    torch.testing.assert_close(loss, torch.tensor((-1.28 - 0.9 + 1.6) / 3))
    torch.testing.assert_close(stats["clip_high_frac"], torch.tensor(1 / 3))
    torch.testing.assert_close(stats["clip_low_frac"], torch.tensor(1 / 3))
    torch.testing.assert_close(stats["clip_frac"], torch.tensor(2 / 3))


def test_sequence_level_importance_ratio_is_gspo() -> None:
    # Row 0: exp(mean(ln 1.5, ln 0.9)) = sqrt(1.35), inside the clip; row 1: exp(ln 0.5) (masked token ignored)
    # = 0.5 < 0.8 with A = -2, clipped: 1.6 on its token.
    r0 = math.sqrt(1.35)
    logp = LOGP.clone().requires_grad_(True)
    loss, stats = clipped_policy_loss(logp, OLD, None, ADV, MASK, importance_sampling_level="sequence",
                                      loss_type="grpo")
    torch.testing.assert_close(loss, torch.tensor((-r0 + 1.6) / 2))
    loss.backward()
    # d/dlogp_t of -r0 / 2 = -r0 / 2 * 1/2 on both tokens of row 0 (the ratio is shared); row 1 is clipped.
    torch.testing.assert_close(logp.grad, torch.tensor([[-r0 / 4, -r0 / 4], [0.0, 0.0]]))
    torch.testing.assert_close(stats["ratio"], torch.tensor((2 * r0 + 0.5) / 3))
    dapo, _ = clipped_policy_loss(LOGP, OLD, None, ADV, MASK, importance_sampling_level="sequence")
    torch.testing.assert_close(dapo, torch.tensor((-2 * r0 + 1.6) / 3))


ENTROPY = torch.tensor([[0.1, 2.0], [1.0, 5.0]])  # 5.0 sits on the masked token and must not count


def test_high_entropy_mask_keeps_the_top_quantile_of_masked_tokens() -> None:
    # Masked entropies [0.1, 2.0, 1.0]; the 2/3 quantile is 1.0 + (4/3 - 1) * (2.0 - 1.0) = 4/3 -> only 2.0 stays.
    assert high_entropy_mask(ENTROPY, MASK, 1 / 3).tolist() == [[False, True], [False, False]]
    # The median is 1.0 -> 2.0 and 1.0 stay.
    assert high_entropy_mask(ENTROPY, MASK, 0.5).tolist() == [[False, True], [True, False]]
    assert high_entropy_mask(ENTROPY, MASK, 1.0).tolist() == [[True, True], [True, False]]
    assert not high_entropy_mask(ENTROPY, torch.zeros_like(MASK), 0.2).any()


def test_entropy_mask_drops_the_policy_term_but_keeps_kl_and_normaliser() -> None:
    keep = high_entropy_mask(ENTROPY, MASK, 1 / 3)
    loss, stats = clipped_policy_loss(LOGP, OLD, REF, ADV, MASK, beta=0.1, entropy_mask=keep)
    # Only row 0 token 1 keeps its surrogate (-0.9); the k3 terms sum to 0.5; both over all 3 tokens.
    torch.testing.assert_close(loss, torch.tensor((-0.9 + 0.1 * 0.5) / 3))
    torch.testing.assert_close(stats["pg_loss"], torch.tensor(-0.9 / 3))


def test_truncated_rows_and_their_masked_loss() -> None:
    ids = torch.tensor([[5, 2, 0], [5, 5, 5], [2, 0, 0]])
    assert truncated_rows(ids, [2]).tolist() == [False, True, False]
    # Masking row 1 of the tiny batch (DAPO's overlong filter): dapo divides by the 2 tokens left; grpo still
    # averages over both sequences, the masked one contributing 0 (as TRL does).
    mask = MASK * torch.tensor([[1], [0]])
    dapo, _ = clipped_policy_loss(LOGP, OLD, None, ADV, mask)
    torch.testing.assert_close(dapo, torch.tensor(-1.05))
    grpo, _ = clipped_policy_loss(LOGP, OLD, None, ADV, mask, loss_type="grpo")
    torch.testing.assert_close(grpo, torch.tensor(-0.525))


def test_unknown_options_are_errors() -> None:
    with pytest.raises(ValueError, match="loss_type"):
        clipped_policy_loss(LOGP, OLD, None, ADV, MASK, loss_type="ppo")
    with pytest.raises(ValueError, match="importance_sampling_level"):
        clipped_policy_loss(LOGP, OLD, None, ADV, MASK, importance_sampling_level="batch")
    with pytest.raises(ValueError, match="max_completion_length"):
        clipped_policy_loss(LOGP, OLD, None, ADV, MASK, loss_type="dr_grpo")


def test_bias_corrected_kl_is_weighted_by_the_ratio() -> None:
    # k3 per token [2 - ln2 - 1, 0, 0.5 + ln2 - 1] times the ratios [1.5, 0.9, 0.5], over 3 tokens (DeepSeek-V3.2).
    _, stats = clipped_policy_loss(LOGP, OLD, REF, ADV, MASK, beta=0.1, use_bias_correction_kl=True)
    expected = ((2 - math.log(2) - 1) * 1.5 + (0.5 + math.log(2) - 1) * 0.5) / 3
    torch.testing.assert_close(stats["kl"], torch.tensor(expected))
