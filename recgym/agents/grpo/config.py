"""GRPO settings. Defaults follow Rec-R1's ESCI training script (``scripts/train/train-esci_3b.sh``: verl GRPO on
Qwen2.5-3B-Instruct) unless a field's docstring says otherwise; ``GRPOConfig.cpu()`` is the preset that trains
SmolLM2-135M on a 2-core CPU in minutes. Fields shared with other trainers (model, LoRA, schedule, evaluation)
are documented in :class:`recgym.agents.train_config.PolicyTrainingConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from recgym.agents.train_config import PolicyTrainingConfig, field_docs


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

    clip_eps: float = 0.2
    """PPO clip range of the ratio. verl's default ``clip_ratio=0.2``, used by Rec-R1."""

    beta: float = 0.001
    """KL-to-reference coefficient in the loss, k3 (``low_var_kl``) estimator. Rec-R1: ``kl_loss_coef=0.001``,
    ``kl_loss_type=low_var_kl``. ``0`` drops the reference forward entirely."""

    adv_eps: float = 1e-6
    """Added to the group std in the advantage (DeepSeekMath's normalisation; verl's epsilon)."""

    skip_zero_std_groups: bool = True
    """Drop groups whose G rewards are all equal before any forward/backward: their advantages are 0, so they
    only dilute the token mean and cost compute (DAPO's observation; DAPO resamples, we skip and count them)."""

    lora_r: int = 0
    """LoRA rank; ``0`` fine-tunes all weights (Rec-R1 does). With LoRA the reference policy is the base model with
    adapters disabled, so no second model is held in memory; with full fine-tuning and ``beta > 0`` a frozen copy
    of the initial weights is kept."""

    num_steps: int = 200
    """Training steps (one rollout + update each). Rec-R1 runs epochs over its training set instead."""

    output_dir: str = "runs/grpo"
    """Where ``metrics.jsonl`` and ``checkpoints/step-NNNNNN/`` go."""

    def checks(self) -> dict[str, bool]:
        return {
            **super().checks(),
            "num_generations >= 2 (a group needs a spread)": self.num_generations >= 2,
            "prompts_per_step >= 1": self.prompts_per_step >= 1,
            "num_iterations >= 1": self.num_iterations >= 1,
            "beta >= 0": self.beta >= 0,
        }

    @property
    def num_envs(self) -> int:
        """Sub-envs the training vector env must have: one per completion of a step."""
        return self.num_generations * self.prompts_per_step

    @classmethod
    def cpu(cls, **overrides: Any) -> GRPOConfig:
        """Settings that train SmolLM2-135M on a 2-core CPU: small groups and short completions, a larger learning
        rate than Rec-R1's 1e-6 for full fine-tuning at this scale, no KL term (no reference forward), one prompt
        per step. Measured on Shop-BM25 (shared 2-core machine, 1 torch thread): sampling 8 x 48 tokens ~11 s, a
        step with its update ~20 s, peak memory 4.6 GB."""
        preset: dict[str, Any] = {
            "num_generations": 8,
            "prompts_per_step": 1,
            "temperature": 1.0,
            "top_p": 0.95,
            "max_new_tokens": 48,
            "learning_rate": 1e-5,
            "micro_batch_size": 8,
            "beta": 0.0,
            "lora_r": 0,
            "num_steps": 100,
            "eval_every": 25,
            "eval_max_examples": 32,
            "save_every": 50,
            "output_dir": "runs/grpo-cpu",
        }
        preset.update(overrides)
        return cls(**preset)



__all__ = ["GRPOConfig", "field_docs"]
