"""GRPO's pieces as pure tensor functions: advantages, token masks, and the clipped surrogate with a k3 KL term.

References: DeepSeekMath (Shao et al., 2024, arXiv 2402.03300) for the group-relative advantage, the KL-in-loss form
and the per-sequence ``grpo`` aggregation; verl's ``low_var_kl`` (the k3 estimator of Schulman, "Approximating KL
divergence", 2020) as used by Rec-R1; DAPO (Yu et al., 2025, arXiv 2503.14476) for token-mean aggregation, the
decoupled ``epsilon_high`` clip and truncated-completion masking; Dr. GRPO (Liu et al., 2025, arXiv 2503.20783) for
the constant-normaliser aggregation and unscaled advantages; GSPO (Zheng et al., 2025, arXiv 2507.18071) for
sequence-level importance ratios; "Beyond the 80/20 Rule" (Wang et al., 2025, arXiv 2506.01939) for training on
high-entropy tokens only. Normalisations follow TRL 1.16's ``GRPOTrainer._compute_loss`` (tested for equality).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch

# verl clamps the k3 estimate to this range so one wild token cannot blow up the loss.
K3_CLAMP = 10.0
LOSS_TYPES = ("grpo", "bnpo", "dr_grpo", "dapo")
IMPORTANCE_SAMPLING_LEVELS = ("token", "sequence")
SCALE_REWARDS = ("group", "batch", "none")


def group_advantages(
    rewards: torch.Tensor, eps: float = 1e-6, scale: str = "group"
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-completion advantage ``(r - mean(group)) / (std + eps)`` (DeepSeekMath's outcome supervision).

    Args:
        rewards: ``[n_groups, G]``: the G completions of one prompt form a row.
        eps: Added to the (unbiased, as ``torch.std``) standard deviation, as in verl.
        scale: Which std divides: ``"group"`` that of each group (DeepSeekMath), ``"batch"`` one std over all the
            rewards given (PPO-Lite, arXiv 2508.08221), ``"none"`` no division, only centring (Dr. GRPO, which
            finds the group std biases learning towards too easy and too hard prompts).

    Returns:
        ``(advantages [n_groups, G], zero_std [n_groups] bool)``. A group whose rewards are all equal carries no
        learning signal (its advantages are exactly 0 whatever ``scale``); ``zero_std`` flags it so the trainer can
        skip its forward/backward passes or draw another prompt.
    """
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be [n_groups, G], got shape {tuple(rewards.shape)}")
    if scale not in SCALE_REWARDS:
        raise ValueError(f"scale must be one of {SCALE_REWARDS}, got {scale!r}")
    rewards = rewards.float()
    zero_std = (rewards.amax(dim=1) - rewards.amin(dim=1)) == 0
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    if scale == "group":
        std = rewards.std(dim=1, keepdim=True) if rewards.shape[1] > 1 else torch.zeros_like(centred[:, :1])
        advantages = centred / (std + eps)
    elif scale == "batch":
        std = rewards.std() if rewards.numel() > 1 else rewards.new_zeros(())
        advantages = centred / (std + eps)
    else:
        advantages = centred
    # Exact zeros for equal rewards, whatever rounding the mean picked up.
    advantages = advantages.masked_fill(zero_std.unsqueeze(1), 0.0)
    return advantages, zero_std


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(policy || reference): ``exp(ref - logp) - (ref - logp) - 1`` (>= 0, unbiased,
    low variance), clamped to ``[-K3_CLAMP, K3_CLAMP]`` like verl's ``low_var_kl``."""
    log_ratio = ref_logp - logp
    return (torch.exp(log_ratio) - log_ratio - 1).clamp(min=-K3_CLAMP, max=K3_CLAMP)


def truncated_rows(completion_ids: torch.Tensor, stop_ids: Sequence[int]) -> torch.Tensor:
    """``[N]`` bool: completions with no stop token, i.e. cut at ``max_new_tokens`` (DAPO's overlong samples).

    Call it on the rollout as sampled, before rows of different widths are padded together."""
    stops = torch.as_tensor(list(stop_ids), device=completion_ids.device)
    return ~torch.isin(completion_ids, stops).any(dim=1)


def high_entropy_mask(entropy: torch.Tensor, mask: torch.Tensor, quantile: float) -> torch.Tensor:
    """``[N, C]`` bool: the tokens whose entropy is in the top ``quantile`` share of the masked tokens ("Beyond the
    80/20 Rule", arXiv 2506.01939: the few high-entropy "forking" tokens carry the useful gradient; the paper keeps
    20%). A token is kept when its entropy is at least the ``1 - quantile`` quantile (linear interpolation, as
    ``torch.quantile`` and TRL's ``get_high_entropy_mask``); ``quantile=1`` keeps every masked token."""
    valid = mask.bool()
    values = entropy[valid].float()
    if values.numel() == 0:
        return torch.zeros_like(valid)
    threshold = torch.quantile(values, 1.0 - quantile)
    return (entropy * mask >= threshold) & valid


def aggregate(
    values: torch.Tensor,
    mask: torch.Tensor,
    loss_type: str,
    num_sequences: float,
    num_tokens: float | torch.Tensor,
    max_completion_length: int | None = None,
    num_micro_batches: int = 1,
) -> torch.Tensor:
    """Reduce per-token ``values`` (``[n, C]``, or ``[n, 1]`` broadcast over tokens) of one micro-batch so that the
    micro-batch results SUM to the whole batch's loss (gradient accumulation without rescaling).

    * ``grpo``: mean over each sequence's tokens, then mean over the batch's ``num_sequences`` (DeepSeekMath).
    * ``bnpo``: token mean over this micro-batch, divided by ``num_micro_batches`` (TRL's local-batch
      normalisation, so it depends on the micro-batch size, as in TRL).
    * ``dr_grpo``: token sum over ``num_sequences * max_completion_length``, a constant (Dr. GRPO).
    * ``dapo``: token sum over the batch's ``num_tokens``, a token mean over the whole batch (DAPO).
    """
    masked = values * mask
    if loss_type == "grpo":
        return (masked.sum(-1) / mask.sum(-1).clamp(min=1.0)).sum() / num_sequences
    if loss_type == "bnpo":
        return masked.sum() / mask.sum().clamp(min=1.0) / num_micro_batches
    if loss_type == "dr_grpo":
        if max_completion_length is None:
            raise ValueError("loss_type='dr_grpo' needs max_completion_length")
        return masked.sum() / (num_sequences * max_completion_length)
    if loss_type == "dapo":
        return masked.sum() / torch.as_tensor(num_tokens, dtype=masked.dtype).clamp(min=1.0)
    raise ValueError(f"loss_type must be one of {LOSS_TYPES}, got {loss_type!r}")


def clipped_policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    epsilon: float = 0.2,
    beta: float = 0.0,
    num_tokens: float | torch.Tensor | None = None,
    *,
    epsilon_high: float | None = None,
    loss_type: str = "dapo",
    importance_sampling_level: str = "token",
    entropy_mask: torch.Tensor | None = None,
    use_bias_correction_kl: bool = False,
    num_sequences: int | None = None,
    max_completion_length: int | None = None,
    num_micro_batches: int = 1,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate with GRPO's per-token KL penalty, aggregated by ``loss_type``.

    ``per_token = max(-A r, -A clip(r, 1 - epsilon, 1 + epsilon_high)) * entropy_mask + beta * k3(ref, logp) [* r]``,
    ``r = exp(logp - old_logp)`` per token, or per sequence ``exp(mean_t(logp - old_logp))`` with
    ``importance_sampling_level="sequence"`` (GSPO); then :func:`aggregate` over ``mask``.

    Args:
        logp: ``[N, C]`` log-probs of the sampled tokens under the policy being trained (differentiable).
        old_logp: ``[N, C]`` the same under the policy that sampled them (no grad).
        ref_logp: ``[N, C]`` under the frozen reference policy, or ``None`` when ``beta == 0``.
        advantages: ``[N]`` one advantage per completion, shared by all its tokens.
        mask: ``[N, C]`` 1 on the completion tokens that count (0 on padding and on masked truncated rows).
        epsilon, epsilon_high: Lower and upper clip range of the ratio (``epsilon_high`` defaults to ``epsilon``;
            DAPO's clip-higher raises it to 0.28 so that unlikely tokens can gain probability).
        beta: KL coefficient.
        num_tokens: The whole batch's ``mask`` token count (default: this call's), for ``dapo`` and the stats.
        loss_type, num_sequences, max_completion_length, num_micro_batches: see :func:`aggregate`
            (``num_sequences`` defaults to ``N``).
        importance_sampling_level: ``"token"`` or ``"sequence"`` (GSPO).
        entropy_mask: ``[N, C]`` bool, tokens whose policy-gradient term is kept (:func:`high_entropy_mask`); the KL
            term and the normalisers still use ``mask``, as in TRL.
        use_bias_correction_kl: Multiply the k3 term by the (differentiable) ratio, which makes its gradient the
            unbiased reverse-KL gradient off-policy (DeepSeek-V3.2, arXiv 2512.02556; TRL's default).

    Returns:
        ``(loss, stats)``. ``pg_loss`` is the surrogate part aggregated like the loss; the other stats are token
        sums over ``mask`` divided by ``num_tokens`` (so micro-batch stats add up to batch means): ``clip_frac``
        (share of tokens whose clipped term is active), ``clip_low_frac`` / ``clip_high_frac`` (clipped at
        ``1 - epsilon`` with ``A < 0`` / at ``1 + epsilon_high`` with ``A > 0``), ``approx_kl`` (mean of
        ``old_logp - logp``, drift from the sampling policy), ``kl`` (mean k3 to the reference; 0 without one),
        ``ratio`` (mean ratio).
    """
    if beta > 0 and ref_logp is None:
        raise ValueError("beta > 0 needs ref_logp")
    if importance_sampling_level not in IMPORTANCE_SAMPLING_LEVELS:
        raise ValueError(f"importance_sampling_level must be one of {IMPORTANCE_SAMPLING_LEVELS}")
    epsilon_high = epsilon if epsilon_high is None else epsilon_high
    mask = mask.to(logp.dtype)
    num_tokens = mask.sum() if num_tokens is None else torch.as_tensor(num_tokens, dtype=logp.dtype)
    num_tokens = num_tokens.clamp(min=1.0)
    num_sequences = logp.shape[0] if num_sequences is None else num_sequences

    def reduce(values: torch.Tensor) -> torch.Tensor:
        return aggregate(
            values, mask, loss_type, num_sequences, num_tokens, max_completion_length, num_micro_batches
        )

    def token_mean(values: torch.Tensor) -> torch.Tensor:
        return (values * mask).sum() / num_tokens

    adv = advantages.to(device=logp.device, dtype=logp.dtype).unsqueeze(1)
    log_ratio = logp - old_logp
    if importance_sampling_level == "sequence":  # one ratio per sequence: the geometric mean of its token ratios
        log_ratio_is = ((log_ratio * mask).sum(-1) / mask.sum(-1).clamp(min=1.0)).unsqueeze(1)
    else:
        log_ratio_is = log_ratio
    ratio = torch.exp(log_ratio_is)
    unclipped = -adv * ratio
    clipped = -adv * ratio.clamp(1.0 - epsilon, 1.0 + epsilon_high)
    pg = torch.maximum(unclipped, clipped)
    if entropy_mask is not None:
        pg = pg * entropy_mask.to(pg.dtype)
    per_token = pg
    kl = torch.zeros_like(logp)
    if ref_logp is not None:
        kl = k3_kl(logp, ref_logp)
        if use_bias_correction_kl:
            kl = kl * ratio
        if beta > 0:
            per_token = pg + beta * kl
    loss = reduce(per_token)
    with torch.no_grad():
        stats = {
            "pg_loss": reduce(pg),
            "clip_frac": token_mean((clipped > unclipped).to(logp.dtype)),
            "clip_low_frac": token_mean(((ratio < 1.0 - epsilon) & (adv < 0)).to(logp.dtype)),
            "clip_high_frac": token_mean(((ratio > 1.0 + epsilon_high) & (adv > 0)).to(logp.dtype)),
            "approx_kl": token_mean(-log_ratio),
            "kl": token_mean(kl),
            "ratio": token_mean(ratio),
        }
    return loss, stats
