"""GRPO's pieces as pure tensor functions: group-normalised advantages and the clipped surrogate with a k3 KL term.

References: DeepSeekMath (Shao et al., 2024, arXiv 2402.03300) for the group-relative advantage and the KL-in-loss
form; verl's ``low_var_kl`` (the k3 estimator of Schulman, "Approximating KL divergence", 2020) as used by Rec-R1;
DAPO (Yu et al., 2025, arXiv 2503.14476) for token-mean aggregation and dropping groups whose rewards are all equal.
"""

from __future__ import annotations

import torch

# verl clamps the k3 estimate to this range so one wild token cannot blow up the loss.
K3_CLAMP = 10.0


def group_advantages(rewards: torch.Tensor, eps: float = 1e-6) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-completion advantage ``(r - mean(group)) / (std(group) + eps)`` (DeepSeekMath's outcome supervision).

    Args:
        rewards: ``[n_groups, G]``: the G completions of one prompt form a row.
        eps: Added to the (unbiased, as ``torch.std``) standard deviation, as in verl.

    Returns:
        ``(advantages [n_groups, G], zero_std [n_groups] bool)``. A group whose rewards are all equal carries no
        learning signal (its advantages are exactly 0); ``zero_std`` flags it so the trainer can skip its
        forward/backward passes.
    """
    if rewards.ndim != 2:
        raise ValueError(f"rewards must be [n_groups, G], got shape {tuple(rewards.shape)}")
    rewards = rewards.float()
    zero_std = (rewards.amax(dim=1) - rewards.amin(dim=1)) == 0
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    std = rewards.std(dim=1, keepdim=True) if rewards.shape[1] > 1 else torch.zeros_like(centred[:, :1])
    advantages = centred / (std + eps)
    # Exact zeros for equal rewards, whatever rounding the mean picked up.
    advantages = advantages.masked_fill(zero_std.unsqueeze(1), 0.0)
    return advantages, zero_std


def k3_kl(logp: torch.Tensor, ref_logp: torch.Tensor) -> torch.Tensor:
    """Per-token k3 estimate of KL(policy || reference): ``exp(ref - logp) - (ref - logp) - 1`` (>= 0, unbiased,
    low variance), clamped to ``[-K3_CLAMP, K3_CLAMP]`` like verl's ``low_var_kl``."""
    log_ratio = ref_logp - logp
    return (torch.exp(log_ratio) - log_ratio - 1).clamp(min=-K3_CLAMP, max=K3_CLAMP)


def clipped_policy_loss(
    logp: torch.Tensor,
    old_logp: torch.Tensor,
    ref_logp: torch.Tensor | None,
    advantages: torch.Tensor,
    mask: torch.Tensor,
    clip_eps: float = 0.2,
    beta: float = 0.0,
    num_tokens: float | torch.Tensor | None = None,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """PPO's clipped surrogate with GRPO's per-token KL penalty, aggregated as a token mean.

    ``loss = sum_t mask * (max(-A r, -A clip(r, 1-eps, 1+eps)) + beta * k3(ref, logp)) / num_tokens``
    with ``r = exp(logp - old_logp)``.

    Args:
        logp: ``[N, C]`` log-probs of the sampled tokens under the policy being trained (differentiable).
        old_logp: ``[N, C]`` the same under the policy that sampled them (no grad).
        ref_logp: ``[N, C]`` under the frozen reference policy, or ``None`` when ``beta == 0``.
        advantages: ``[N]`` one advantage per completion, shared by all its tokens.
        mask: ``[N, C]`` 1 on completion tokens.
        clip_eps: PPO clip range.
        beta: KL coefficient.
        num_tokens: Token count to divide by. Default ``mask.sum()``; pass the whole batch's count when the batch
            is split into micro-batches, so summing micro-batch losses gives the batch's token mean (DAPO).

    Returns:
        ``(loss, stats)``; each stat is a token-weighted sum divided by ``num_tokens`` (so micro-batch stats add up
        to batch means): ``clip_frac`` (share of tokens whose clipped term is active), ``approx_kl`` (mean of
        ``old_logp - logp``, drift from the sampling policy), ``kl`` (mean k3 to the reference; 0 without one),
        ``ratio`` (mean ratio), ``pg_loss`` (the surrogate part of the loss).
    """
    if beta > 0 and ref_logp is None:
        raise ValueError("beta > 0 needs ref_logp")
    mask = mask.to(logp.dtype)
    denom = mask.sum() if num_tokens is None else torch.as_tensor(num_tokens, dtype=logp.dtype)
    denom = denom.clamp(min=1.0)

    def token_mean(values: torch.Tensor) -> torch.Tensor:
        return (values * mask).sum() / denom

    adv = advantages.to(logp.dtype).unsqueeze(1)
    log_ratio = logp - old_logp
    ratio = torch.exp(log_ratio)
    unclipped = -adv * ratio
    clipped = -adv * ratio.clamp(1.0 - clip_eps, 1.0 + clip_eps)
    pg = torch.maximum(unclipped, clipped)
    per_token = pg
    kl = torch.zeros_like(logp)
    if ref_logp is not None:
        kl = k3_kl(logp, ref_logp)
        if beta > 0:
            per_token = pg + beta * kl
    loss = token_mean(per_token)
    with torch.no_grad():
        stats = {
            "pg_loss": token_mean(pg),
            "clip_frac": token_mean((clipped > unclipped).to(logp.dtype)),
            "approx_kl": token_mean(-log_ratio),
            "kl": token_mean(kl),
            "ratio": token_mean(ratio),
        }
    return loss, stats
