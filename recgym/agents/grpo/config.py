"""GRPO settings. Defaults follow Rec-R1's ESCI training script (``scripts/train/train-esci_3b.sh``: verl GRPO on
Qwen2.5-3B-Instruct) unless a field's docstring says otherwise; ``GRPOConfig.cpu()`` is the preset that trains
SmolLM2-135M on a 2-core CPU in minutes. Fields shared with other trainers (model, LoRA, schedule, evaluation)
are documented in :class:`recgym.agents.train_config.PolicyTrainingConfig`.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

from recgym.agents.grpo.loss import IMPORTANCE_SAMPLING_LEVELS, LOSS_TYPES, SCALE_REWARDS
from recgym.agents.train_config import PolicyTrainingConfig


@dataclass
class GRPOConfig(PolicyTrainingConfig):
    # ---------------------------------------------------------------------------------------------- rollout
    num_generations: int = 12
    """G, completions sampled per prompt (a GRPO group). Rec-R1: ``rollout.n=12``."""

    prompts_per_step: int = 32
    """Training examples (groups) per step; the vector env needs ``num_generations * prompts_per_step`` sub-envs.
    Rec-R1: ``data.train_batch_size=32``."""

    temperature: float = 0.6
    """Sampling temperature of rollouts; log-probs are computed on logits / temperature, the distribution the
    tokens came from (as verl does). Rec-R1: ``rollout.temperature=0.6``."""

    top_p: float = 0.95
    """Nucleus sampling mass of rollouts (top-k off). Rec-R1: ``rollout.top_p=0.95``."""

    max_new_tokens: int = 512
    """Completion length cap (rollouts and acting). Rec-R1: ``data.max_response_length=512``."""

    # ------------------------------------------------------------------------------------------ optimisation
    learning_rate: float = 1e-6
    """AdamW learning rate, constant (verl's default schedule has no warmup or decay). Rec-R1: ``optim.lr=1e-6``."""

    micro_batch_size: int = 4
    """Completions per forward/backward. Gradients are accumulated over all micro-batches of a step's (kept)
    rollout, so there is one optimizer step per pass however the batch is split (gradient accumulation); this only
    trades memory for speed. Rec-R1 used 2 per GPU (``ppo_micro_batch_size=2``)."""

    num_iterations: int = 1
    """Optimizer passes over each rollout (mu in DeepSeekMath, ``ppo_epochs`` in verl; Rec-R1 keeps verl's 1). With
    more than 1 the rollout is reused PPO-style: old log-probs are recomputed once, and the clip starts to bind."""

    epsilon: float = 0.2
    """PPO clip range of the ratio (lower side, and upper side unless ``epsilon_high`` is set); TRL's name. verl's
    default ``clip_ratio=0.2``, used by Rec-R1. Formerly ``clip_eps`` (still accepted, deprecated)."""

    epsilon_high: float | None = None
    """Upper clip range, ``None``: ``epsilon``. DAPO's "clip-higher" (Yu et al., arXiv 2503.14476, sec. 3.1) uses 0.28
    so that low-probability tokens can still gain probability, which delays entropy collapse."""

    importance_sampling_level: str = "token"
    """``"token"``: one ratio per token (PPO/GRPO). ``"sequence"``: one ratio per completion, the geometric mean of
    its token ratios, clipped as a whole (GSPO, Zheng et al., arXiv 2507.18071: matches the sequence-level reward,
    more stable). GSPO's objective is ``loss_type="grpo"`` with this; other loss types weight sequences by length."""

    loss_type: str = "dapo"
    """How per-token losses are reduced (normalisations as TRL 1.16's ``GRPOTrainer``): ``"dapo"`` token mean over
    the whole step (DAPO, arXiv 2503.14476; recgym's behaviour before this option existed); ``"grpo"`` mean over each
    completion's tokens, then over completions (DeepSeekMath, arXiv 2402.03300; favours short correct and long wrong
    answers); ``"dr_grpo"`` token sum / (completions x ``max_new_tokens``), a constant (Dr. GRPO, Liu et al.,
    arXiv 2503.20783, removes the length bias); ``"bnpo"`` token mean per micro-batch, averaged over micro-batches
    (TRL's; depends on ``micro_batch_size``)."""

    beta: float = 0.001
    """KL-to-reference coefficient in the loss, k3 (``low_var_kl``) estimator. Rec-R1: ``kl_loss_coef=0.001``,
    ``kl_loss_type=low_var_kl``. ``0`` drops the reference forward entirely."""

    use_bias_correction_kl: bool = False
    """Multiply the k3 KL term by the importance ratio, making its gradient the unbiased reverse-KL gradient
    (DeepSeek-V3.2, arXiv 2512.02556). TRL 1.16 defaults to ``True``; recgym keeps verl's plain k3 (Rec-R1), so set
    it to carry a TRL config over exactly. Only matters with ``beta > 0``."""

    scale_rewards: str = "group"
    """Advantage scaling: ``"group"`` divides by each group's reward std (DeepSeekMath, verl, Rec-R1); ``"batch"`` by
    the std of all rewards trained on this step (PPO-Lite, arXiv 2508.08221); ``"none"`` only subtracts the group
    mean (Dr. GRPO, arXiv 2503.20783: the group std over-weights prompts that are nearly always or never solved)."""

    adv_eps: float = 1e-6
    """Added to the std in the advantage (DeepSeekMath's normalisation; verl's epsilon)."""

    mask_truncated_completions: bool = False
    """Completions cut at ``max_new_tokens`` without a stop token get no loss (DAPO's overlong filtering, arXiv
    2503.14476 sec. 3.4: a truncated answer is penalised for its length, not its content). They still count in
    the group's reward mean and std."""

    top_entropy_quantile: float = 1.0
    """Keep the policy-gradient term only on tokens in the top this share of entropy ("Beyond the 80/20 Rule",
    Wang et al., arXiv 2506.01939, recommends 0.2: the high-entropy "forking" tokens carry the learning). ``1.0``
    keeps all tokens. As in TRL, the quantile is taken over each micro-batch's tokens (set ``micro_batch_size`` to
    the whole batch for the paper's batch-level threshold) and the KL term stays on every token."""

    raw_relative_loss_weight: float | None = None
    """Train on the improvement over the raw query (``recgym.envs.relative.RelativeToRaw``): the reward becomes
    ``r - r(raw action)`` with drops below the raw query weighted by this factor in ``[0, 1]``; ``None`` trains on
    the env's reward as is. Not from a paper: with ``expand``, words BM25 ignores tie the raw query while most
    sampled keywords hurt a little, and GRPO collapses onto the filler (docs/training.md's ablation); a weight
    below 1 removes that safe harbour. Logged as ``reward_mean``; ``env_reward`` and ``raw_reward`` keep the env's reward of the samples and of the
    raw query on the same prompts (their difference is the learning curve through per-prompt difficulty). On the
    multi-turn agent env it shapes each episode's return (the answer's reward) against answering with the raw query
    at once (:class:`recgym.envs.relative.RawRewards`)."""

    skip_zero_std_groups: bool = True
    """Drop groups whose G rewards are all equal before any forward/backward: their advantages are 0, so they
    only dilute the token mean and cost compute (DAPO's observation, arXiv 2503.14476 sec. 3.2). Counted in
    ``groups_skipped``. ``dynamic_sampling`` goes further and replaces them."""

    dynamic_sampling: bool = False
    """DAPO's dynamic sampling (arXiv 2503.14476 sec. 3.2): when groups have zero reward spread, draw further training
    prompts (further along the same seeded visit order) until the step has ``prompts_per_step`` informative groups
    or ``max_resample_rounds`` extra rounds were drawn; implies dropping zero-spread groups. Each round reuses the
    vector env with a full ``prompts_per_step`` prompts (surplus informative groups are discarded, as in DAPO).
    To stay resumable without sampler state, step s reserves visit positions ``s * P * (1 + max_resample_rounds)``
    onwards, so positions a step did not need are skipped this epoch."""

    max_resample_rounds: int = 3
    """Bound on the extra rounds (generate + score ``prompts_per_step`` prompts each) dynamic sampling may draw per
    step. DAPO's verl recipe bounds the same loop with ``max_num_gen_batches``; 3 keeps a CPU step within 4x."""

    collapse_min_distinct: float = 0.25
    """Collapse guard: a step counts as collapsed when ``distinct_frac`` (distinct completions per group / G,
    averaged) is below this. Entropy collapse is the usual failure of GRPO-style RL (DAPO sec. 3.1; Cui et al.,
    "The Entropy Mechanism of RL for Reasoning LMs", arXiv 2505.22617)."""

    collapse_patience: int = 5
    """Collapse guard: warn (``logging`` and ``warnings``) once ``distinct_frac`` stayed below
    ``collapse_min_distinct`` for this many consecutive steps (0: never check)."""

    stop_on_collapse: bool = False
    """Collapse guard: also end training at that point; the step's record then carries ``stop_reason``, which
    ``PolicyTrainer.train`` honours."""

    clip_eps: float | None = None
    """Deprecated old name of ``epsilon``; if set, it is moved there (with a ``DeprecationWarning``)."""

    lora_r: int = 0
    """LoRA rank; ``0`` fine-tunes all weights (Rec-R1 does). With LoRA the reference policy is the base model with
    adapters disabled, so no second model is held in memory; with full fine-tuning and ``beta > 0`` a frozen copy
    of the initial weights is kept."""

    num_steps: int = 200
    """Training steps (one rollout + update each). Rec-R1 runs epochs over its training set instead."""

    output_dir: str = "runs/grpo"
    """Where ``metrics.jsonl`` and ``checkpoints/step-NNNNNN/`` go."""

    def __post_init__(self) -> None:
        if self.clip_eps is not None:  # the pre-TRL-naming field, e.g. in an old run's config.json
            warnings.warn("GRPOConfig.clip_eps is deprecated; use epsilon", DeprecationWarning, stacklevel=3)
            self.epsilon, self.clip_eps = self.clip_eps, None
        super().__post_init__()

    def checks(self) -> dict[str, bool]:
        return {
            **super().checks(),
            "num_generations >= 2 (a group needs a spread)": self.num_generations >= 2,
            "prompts_per_step >= 1": self.prompts_per_step >= 1,
            "num_iterations >= 1": self.num_iterations >= 1,
            "raw_relative_loss_weight is None or in [0, 1]": self.raw_relative_loss_weight is None
            or 0.0 <= self.raw_relative_loss_weight <= 1.0,
            "beta >= 0": self.beta >= 0,
            "epsilon > 0": self.epsilon > 0,
            "epsilon_high is None or >= 0": self.epsilon_high is None or self.epsilon_high >= 0,
            f"loss_type in {LOSS_TYPES}": self.loss_type in LOSS_TYPES,
            f"scale_rewards in {SCALE_REWARDS}": self.scale_rewards in SCALE_REWARDS,
            f"importance_sampling_level in {IMPORTANCE_SAMPLING_LEVELS}": (
                self.importance_sampling_level in IMPORTANCE_SAMPLING_LEVELS
            ),
            "0 <= top_entropy_quantile <= 1": 0.0 <= self.top_entropy_quantile <= 1.0,
            "max_resample_rounds >= 0": self.max_resample_rounds >= 0,
            "collapse_patience >= 0": self.collapse_patience >= 0,
        }

    @property
    def num_envs(self) -> int:
        """Sub-envs the training vector env must have: one per completion of a step."""
        return self.num_generations * self.prompts_per_step

    @classmethod
    def cpu(cls, **overrides: Any) -> GRPOConfig:
        """The recipe that trains SmolLM2-135M on a 2-core CPU (docs/training.md has the ablation behind each
        choice, docs/results.md its result). Use it with the env's ``reward="expand"``,
        ``prompt="product-type-results"`` and a training reward at ``k=100``::

            recgym train --env RecR1/Shop-BM25-v0 --reward expand --prompt product-type-results --env-kwargs '{"k": 100}'

        - the prompt shows the black box's top 3 titles for the raw query, so the policy can copy a product type
          from what the shop sells instead of recalling one (its samples beat the raw query twice as often);
        - the reply starts with ``"The shopper is looking for a"`` (``response_prefix``) so 5 new tokens name a
          product rather than chatter;
        - the reward is the improvement over the raw query with drops not penalised (``raw_relative_loss_weight=0``):
          with a penalty every run collapsed onto words BM25 ignores;
        - 8 prompts x G=8 per step, one micro-batch per group (its prompt then runs once, shared-prefix caching),
          temperature 1 and no nucleus cut for exploration, full fine-tuning with a k3 KL anchor of 0.04;
        - learning rate 2e-5: on the whole val split its 3-seed mean NDCG@100 beat lr 1e-5's by +0.041 [+0.027,
          +0.057] (paired), and no seed collapsed (distinct completions per group ~1, entropy ~2.5);
        - 150 steps (1,200 prompts: every one of the 1,020 training queries once, 180 twice); on the whole val split
          150 steps beat 100 on all 3 seeds (+0.009 to +0.015 NDCG@100).
        Measured (1 torch thread): ~22-28 s per step with 2 runs sharing a 2-core machine (150 steps in ~55-70 min),
        ~33 s with 3 (~82 min)."""
        preset: dict[str, Any] = {
            "num_generations": 8,
            "prompts_per_step": 8,
            "temperature": 1.0,
            "top_p": 1.0,
            "max_new_tokens": 5,
            "response_prefix": "The shopper is looking for a",
            "raw_relative_loss_weight": 0.0,
            "learning_rate": 2e-5,
            "micro_batch_size": 8,
            "beta": 0.04,
            "lora_r": 0,
            "num_steps": 150,
            "eval_every": 50,
            "eval_max_examples": 64,
            "save_every": 50,
            "output_dir": "runs/grpo-cpu",
        }
        preset.update(overrides)
        return cls(**preset)

    @classmethod
    def cpu_agent(cls, **overrides: Any) -> GRPOConfig:
        """:meth:`cpu` for the multi-turn search-agent env (``RecR1/*-Agent-v0``, reward ``expand``), which
        ``recgym train --preset cpu`` picks for those ids:

        - no ``response_prefix`` (a turn opens with ``<search>`` or ``<answer>``) and 32 new tokens per turn (a
          search repeats a request of up to ~25 tokens);
        - the env's reward as is (``raw_relative_loss_weight=None``): with drops unpenalised (the single-step
          recipe's 0) the objective ``E[max(0, r - r_raw)]`` pays for variance, and a run learned to paste whole
          product titles as answers (cut at ``max_new_tokens``: no answer), falling below the raw query by step
          30 (docs/results.md);
        - 4 prompts x G=8 per step: a multi-turn step is ~4x a single-step one on CPU (~50-60 s).
        Start it from a policy that follows the tool protocol (SmolLM2-135M does not zero-shot): the format SFT
        on scripted PRF episodes, ``recgym train --algo sft`` on the same env."""
        return cls.cpu(**{"response_prefix": "", "max_new_tokens": 32, "raw_relative_loss_weight": None,
                          "prompts_per_step": 4, "output_dir": "runs/grpo-cpu-agent", **overrides})


__all__ = ["GRPOConfig"]
