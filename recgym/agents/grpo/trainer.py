"""GRPO on a text-action env, CleanRL style: one readable step in ``GRPOAgent._train_step``.

Each step: pick ``prompts_per_step`` training examples, put each on ``G`` sub-envs of the vector env (a group),
sample the G completions per prompt in ONE ``generate`` call, score every completion in ONE ``venv.step`` (one
batched recommender call), normalise rewards within groups, skip groups with no spread, then take
``num_iterations`` clipped policy-gradient steps with AdamW. The agent only touches the env through Gymnasium calls.
The loop around the step (logging, evaluation, checkpoints, resume) is :class:`PolicyTrainer`'s.
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.base import METRIC_KEYS, unbatch_infos
from recgym.agents.grpo.config import GRPOConfig
from recgym.agents.grpo.loss import clipped_policy_loss, group_advantages
from recgym.agents.hf_policy import Rollout, SamplingConfig
from recgym.agents.policy_trainer import PolicyTrainer, visit_order


class GRPOAgent(PolicyTrainer):
    """An LLM policy trained with GRPO on the env's reward.

    Args:
        config: Hyper-parameters (``GRPOConfig()``: Rec-R1's; ``GRPOConfig.cpu()``: a 2-core CPU).
        model, tokenizer: The initial policy; loaded from ``config.model_name_or_path`` when omitted. The agent
            trains this model in place (LoRA adapters are added to it when ``config.lora_r > 0``).

    ``train(venv)`` needs a vector env with ``config.num_envs`` sub-envs (``gym.make_vec(id, num_envs=...)``).
    """

    config_class = GRPOConfig
    progress_keys = ("reward_mean", "val/reward")
    config: GRPOConfig

    def __init__(
        self,
        config: GRPOConfig | None = None,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        super().__init__(config, model, tokenizer)
        cfg = self.config
        # The KL reference: LoRA gets it for free (adapters disabled); full fine-tuning keeps a frozen copy of the
        # weights it started from.
        self.ref_model = None
        if cfg.beta > 0 and cfg.lora_r == 0:
            self.ref_model = copy.deepcopy(self.policy.model).eval().requires_grad_(False)
        self.rollout_sampling = SamplingConfig(cfg.max_new_tokens, cfg.temperature, cfg.top_p)
        self.act_batch_size = cfg.num_envs  # a rollout's width is known to fit in memory

    def _act_top_p(self) -> float:
        return self.config.top_p

    def _begin_training(self, venv: gym.vector.VectorEnv) -> None:
        if venv.num_envs != self.config.num_envs:
            raise ValueError(
                f"venv has {venv.num_envs} sub-envs; GRPO needs num_generations * prompts_per_step = "
                f"{self.config.num_envs}"
            )

    def _train_step(self, venv: gym.vector.VectorEnv) -> dict[str, Any]:
        cfg, G = self.config, self.config.num_generations
        started = time.perf_counter()

        # 1. This step's training examples; each one is put on G sub-envs (one GRPO group).
        num_train = venv.unwrapped.num_examples("train")
        indices = visit_order(cfg.seed, self.step * cfg.prompts_per_step, cfg.prompts_per_step, num_train)
        options = {"indices": [i for i in indices for _ in range(G)], "split": "train"}
        observations, _ = venv.reset(seed=cfg.seed + self.step, options=options)

        # 2. G completions per prompt from one generate call (rows come out grouped by prompt).
        rollout = self.policy.sample(list(observations[::G]), n=G, sampling=self.rollout_sampling)

        # 3. Score every completion in one batched env step.
        _, rewards, _, _, infos = venv.step(rollout.texts)
        rewards = torch.as_tensor(np.asarray(rewards, dtype=np.float32)).view(-1, G)

        # 4. Group-relative advantages; groups whose rewards are all equal carry no signal: drop them before any
        #    forward/backward.
        advantages, zero_std = group_advantages(rewards, cfg.adv_eps)
        keep = ~zero_std if cfg.skip_zero_std_groups else torch.ones_like(zero_std)
        rows = keep.repeat_interleave(G).nonzero().squeeze(1)
        update = self.update(rollout.select(rows), advantages.flatten()[rows]) if len(rows) else {}

        step_infos = unbatch_infos(infos, venv.num_envs)
        env_means = {
            k: float(np.mean([float(i[k]) for i in step_infos]))
            for k in METRIC_KEYS
            if all(k in i for i in step_infos)
        }
        return {
            "reward_mean": float(rewards.mean()),
            "reward_std": float(rewards.std()),
            **env_means,
            "completion_len": float(rollout.completion_mask.sum(dim=1).float().mean()),
            "frac_zero_std": float(zero_std.float().mean()),
            "groups_skipped": int((~keep).sum()),
            **update,
            "sec_per_step": time.perf_counter() - started,
        }

    def update(self, batch: Rollout, advantages: torch.Tensor) -> dict[str, float]:
        """``num_iterations`` optimizer steps on one rollout (``advantages``: one per row); gradients accumulate
        over micro-batches and the loss is the token mean over the whole batch (each micro-batch divides by the
        batch's token count). Returns the loss statistics averaged over the passes."""
        cfg, mb, temp = self.config, self.config.micro_batch_size, self.config.temperature
        optimizer = self._ensure_optimizer()
        num_tokens = batch.completion_mask.sum()
        micro_batches = [slice(i, i + mb) for i in range(0, len(batch), mb)]
        # On the first pass the sampling policy IS the current one, so logp.detach() serves as old_logp; later
        # passes need the log-probs frozen before the first update.
        old_logp = self.policy.batched_logprobs(batch, mb, temp) if cfg.num_iterations > 1 else None
        ref_logp = self._reference_logprobs(batch) if cfg.beta > 0 else None

        totals: dict[str, float] = defaultdict(float)
        for iteration in range(cfg.num_iterations):
            optimizer.zero_grad(set_to_none=True)
            for part_slice in micro_batches:
                part = batch.select(part_slice)
                logp, entropy = self.policy.token_logprobs(part, temp, with_entropy=iteration == 0)
                loss, stats = clipped_policy_loss(
                    logp,
                    logp.detach() if old_logp is None else old_logp[part_slice],
                    None if ref_logp is None else ref_logp[part_slice],
                    advantages[part_slice],
                    part.completion_mask,
                    clip_eps=cfg.clip_eps,
                    beta=cfg.beta,
                    num_tokens=num_tokens,
                )
                loss.backward()
                totals["loss"] += loss.item() / cfg.num_iterations
                for key, value in stats.items():
                    totals[key] += value.item() / cfg.num_iterations
                if entropy is not None:
                    totals["entropy"] += float(entropy.sum() / num_tokens)
            totals["grad_norm"] += self._clip_and_step(optimizer) / cfg.num_iterations
        return dict(totals)

    def _reference_logprobs(self, batch: Rollout) -> torch.Tensor:
        mb, temp = self.config.micro_batch_size, self.config.temperature
        if self.ref_model is not None:
            return self.policy.batched_logprobs(batch, mb, temp, model=self.ref_model)
        with self.policy.model.disable_adapter():  # LoRA: the base model is the reference
            return self.policy.batched_logprobs(batch, mb, temp)


__all__ = ["GRPOAgent"]
