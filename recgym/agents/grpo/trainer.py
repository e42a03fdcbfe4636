"""GRPO on a text-action env, CleanRL style: one readable step in ``GRPOAgent._train_step`` (public:
``GRPOAgent.train_step``).

Each step: pick ``prompts_per_step`` training examples, put each on ``G`` sub-envs of the vector env (a group),
sample the G completions per prompt in ONE ``generate`` call, score every completion in ONE ``venv.step`` (one
batched recommender call); with DAPO's dynamic sampling, repeat on further examples until enough groups have a
reward spread. Normalise rewards (``scale_rewards``), skip groups with no spread, then take ``num_iterations``
clipped policy-gradient steps with AdamW (``loss_type``, ``epsilon``/``epsilon_high``, ``importance_sampling_level``,
``mask_truncated_completions``, ``top_entropy_quantile``: TRL's names and semantics). A collapse guard logs how
diverse the completions are and can stop training. The agent only touches the env through Gymnasium calls. The
loop around the step (logging, evaluation, checkpoints, resume) is :class:`PolicyTrainer`'s.

On the multi-turn search-agent env (``RecR1/*-Agent-v0``) a completion is a whole episode, searches and answer,
with the env's text between turns masked out of the loss (:mod:`recgym.agents.grpo.multiturn`); the rest of
the step is the same. Validation there plays whole episodes in the same context (:func:`recgym.agents.evaluate`).
"""

from __future__ import annotations

import copy
import time
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.base import METRIC_KEYS, episode_metrics, search_budget, unbatch_infos
from recgym.agents.grpo.config import GRPOConfig
from recgym.agents.grpo.guards import CollapseGuard
from recgym.agents.grpo.loss import clipped_policy_loss, group_advantages, high_entropy_mask, truncated_rows
from recgym.agents.grpo.multiturn import play_episodes
from recgym.agents.hf_policy import Rollout, SamplingConfig
from recgym.agents.policy_trainer import METRICS_FILE, PolicyTrainer, num_examples, visit_order
from recgym.envs.relative import RawRewards, RelativeToRaw, relative_reward
from recgym.envs.task import task_of


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
        self._guard: CollapseGuard | None = None  # made at the first step (restored from the log on resume)
        self._reward_env: tuple[gym.vector.VectorEnv, gym.vector.VectorEnv] | None = None  # (venv, its view)
        self.search_budget: int | None = None  # the agent env's max_searches: episodes are multi-turn
        self._raw_rewards: RawRewards | None = None  # the agent env's raw-query rewards (raw_relative_loss_weight)

    def _act_top_p(self) -> float:
        return self.config.top_p

    def _begin_training(self, venv: gym.vector.VectorEnv) -> None:
        if venv.num_envs != self.config.num_envs:
            raise ValueError(
                f"venv has {venv.num_envs} sub-envs; GRPO needs num_generations * prompts_per_step = "
                f"{self.config.num_envs}"
            )
        self.search_budget = search_budget(venv)
        if self.search_budget is not None and self.config.response_prefix:
            raise ValueError(
                "response_prefix (the single-step cpu preset's) would start every episode's first turn with it; on "
                "an agent env use GRPOConfig.cpu_agent() (recgym train --preset cpu picks it for -Agent- ids) or "
                "set response_prefix to ''"
            )

    def _max_policy_tokens(self) -> int:
        """The most tokens the policy writes in one rollout row (``dr_grpo``'s constant): ``max_new_tokens``, per
        turn on the agent env (at most ``max_searches + 1`` turns)."""
        return self.config.max_new_tokens * (1 if self.search_budget is None else self.search_budget + 1)

    def train_step(self, venv: gym.vector.VectorEnv) -> dict[str, Any]:
        """One training step outside :meth:`train` (benchmarks, custom loops): the same rollout and update as a
        step of ``train``, without evaluation, checkpoints or ``metrics.jsonl``. Returns the step's record
        (``{"step": ..., **metrics}``; a ``stop_reason`` key means the collapse guard asks to stop)."""
        self._begin_training(venv)
        record = self._train_step(venv)
        self.step += 1
        return {"step": self.step, **record}

    def _train_step(self, venv: gym.vector.VectorEnv) -> dict[str, Any]:
        cfg, G, P = self.config, self.config.num_generations, self.config.prompts_per_step
        started = time.perf_counter()

        # 1-3. Rounds of: P training examples, each on G sub-envs (a group); G completions per prompt from one
        #      generate call; every completion scored in one env step. Without dynamic sampling there is one round;
        #      with it, rounds continue (further along the visit order) until P groups have a reward spread.
        rounds = 1 + cfg.max_resample_rounds if cfg.dynamic_sampling else 1
        num_train = num_examples(venv, "train")
        parts: list[_Round] = []
        for r in range(rounds):
            indices = visit_order(cfg.seed, (self.step * rounds + r) * P, P, num_train)
            parts.append(self._sample_round(venv, indices, seed=cfg.seed + self.step))
            if sum(int((~p.zero_std).sum()) for p in parts) >= P:
                break
        rewards = torch.cat([p.rewards for p in parts])
        zero_std = torch.cat([p.zero_std for p in parts])

        # 4. Groups whose rewards are all equal carry no signal: drop them before any forward/backward (dynamic
        #    sampling also keeps at most P informative groups, as DAPO trims to the batch size), then advantages.
        keep = ~zero_std if (cfg.skip_zero_std_groups or cfg.dynamic_sampling) else torch.ones_like(zero_std)
        if cfg.dynamic_sampling:
            keep &= keep.cumsum(0) <= P
        kept = keep.nonzero().squeeze(1)
        update = {}
        if len(kept):
            advantages, _ = group_advantages(rewards[kept], cfg.adv_eps, cfg.scale_rewards)
            batch, truncated = _gather_groups(parts, kept, G, self.policy.tokenizer.pad_token_id)
            update = self.update(batch, advantages.flatten(), truncated=truncated)

        texts = [t for p in parts for t in p.rollout.texts]
        if self._guard is None:  # first step of this agent object; a resumed run takes the state from its log
            self._guard = CollapseGuard(cfg.collapse_min_distinct, cfg.collapse_patience, cfg.stop_on_collapse)
            self._guard.restore(Path(cfg.output_dir) / METRICS_FILE, self.step)
        guard = self._guard.observe(texts, G)
        step_infos = [info for p in parts for info in p.infos]
        env_means = {
            k: float(np.mean([float(i[k]) for i in step_infos]))
            for k in (*METRIC_KEYS, "env_reward", "raw_reward")  # the last two: RelativeToRaw's infos
            if all(k in i for i in step_infos)
        }
        env_means.update(episode_metrics(step_infos))  # the agent env: searches, turns, unanswered episodes
        stop_reason = guard.pop("stop_reason", None)
        return {
            "reward_mean": float(rewards.mean()),
            "reward_std": float(rewards.std()),
            **env_means,
            "completion_len": float(torch.cat([p.rollout.completion_mask.sum(dim=1) for p in parts]).float().mean()),
            "truncated_frac": float(torch.cat([p.truncated for p in parts]).float().mean()),
            "frac_zero_std": float(zero_std.float().mean()),
            "groups_skipped": int((~keep).sum()),
            "informative_groups": int((keep & ~zero_std).sum()),
            "resampled_prompts": P * (len(parts) - 1),
            **guard,
            **update,
            "sec_per_step": time.perf_counter() - started,
            **({"stop_reason": stop_reason} if stop_reason else {}),
        }

    def _rewarding(self, venv: gym.vector.VectorEnv) -> gym.vector.VectorEnv:
        """``venv``, or its :class:`RelativeToRaw` view when ``raw_relative_loss_weight`` is set (made once per env,
        so the raw queries' rewards are scored once per example)."""
        weight = self.config.raw_relative_loss_weight
        if weight is None:
            return venv
        if self._reward_env is None or self._reward_env[0] is not venv:
            self._reward_env = (venv, RelativeToRaw(venv, weight))
        return self._reward_env[1]

    def _sample_round(self, venv: gym.vector.VectorEnv, indices: list[int], seed: int) -> _Round:
        G = self.config.num_generations
        if self.search_budget is not None:  # the agent env: whole episodes (recgym.agents.grpo.multiturn)
            played = play_episodes(self.policy, venv, indices, G, self.rollout_sampling, seed=seed)
            returns, infos = played.returns, played.infos
            if (weight := self.config.raw_relative_loss_weight) is not None:  # the return relative to the raw query
                task = task_of(venv)
                if self._raw_rewards is None or self._raw_rewards.task is not task:
                    self._raw_rewards = RawRewards(task)
                raw = self._raw_rewards("train", [i for i in indices for _ in range(G)])
                env_returns = returns.double().numpy()
                returns = torch.from_numpy(relative_reward(env_returns, raw, weight).astype(np.float32))
                infos = [{**info, "env_reward": e, "raw_reward": r} for info, e, r in zip(infos, env_returns, raw)]
            rewards = returns.view(-1, G)
            return _Round(played.rollout, rewards, infos, group_advantages(rewards)[1], played.cut)
        venv = self._rewarding(venv)
        options = {"indices": [i for i in indices for _ in range(G)], "split": "train"}
        observations, _ = venv.reset(seed=seed, options=options)
        rollout = self.policy.sample(list(observations[::G]), n=G, sampling=self.rollout_sampling)
        _, rewards, _, _, infos = venv.step(rollout.texts)
        rewards = torch.as_tensor(np.asarray(rewards, dtype=np.float32)).view(-1, G)
        _, zero_std = group_advantages(rewards)
        truncated = truncated_rows(rollout.completion_ids, self.policy.stop_ids).cpu()
        return _Round(rollout, rewards, unbatch_infos(infos, venv.num_envs), zero_std, truncated)

    def update(
        self, batch: Rollout, advantages: torch.Tensor, truncated: torch.Tensor | None = None
    ) -> dict[str, float]:
        """``num_iterations`` optimizer steps on one rollout (``advantages``: one per row); gradients accumulate
        over micro-batches, each of which divides by the whole batch's normaliser (see ``loss_type``).
        ``truncated`` flags rows cut at ``max_new_tokens`` (computed from ``batch`` when omitted; only read with
        ``mask_truncated_completions``). Returns the loss statistics averaged over the passes."""
        cfg, mb, temp = self.config, self.config.micro_batch_size, self.config.temperature
        mask = batch.completion_mask
        if cfg.mask_truncated_completions:
            if truncated is None:
                truncated = truncated_rows(batch.completion_ids, self.policy.stop_ids)
            mask = mask * (~truncated.to(mask.device)).unsqueeze(1).to(mask.dtype)
        num_tokens = mask.sum()
        if num_tokens == 0:  # every row masked: no gradient, and AdamW's weight decay alone should not move weights
            return {}
        optimizer = self._ensure_optimizer()
        micro_batches = [slice(i, i + mb) for i in range(0, len(batch), mb)]
        # On the first pass the sampling policy IS the current one, so logp.detach() serves as old_logp; later
        # passes need the log-probs frozen before the first update.
        old_logp = self.policy.batched_logprobs(batch, mb, temp) if cfg.num_iterations > 1 else None
        ref_logp = self._reference_logprobs(batch) if cfg.beta > 0 else None
        entropy_filter = cfg.top_entropy_quantile < 1.0
        completion_tokens = batch.completion_mask.sum()

        totals: dict[str, float] = defaultdict(float)
        for iteration in range(cfg.num_iterations):
            optimizer.zero_grad(set_to_none=True)
            for part_slice in micro_batches:
                part, part_mask = batch.select(part_slice), mask[part_slice]
                logp, entropy = self.policy.token_logprobs(part, temp, with_entropy=iteration == 0 or entropy_filter)
                loss, stats = clipped_policy_loss(
                    logp,
                    logp.detach() if old_logp is None else old_logp[part_slice],
                    None if ref_logp is None else ref_logp[part_slice],
                    advantages[part_slice],
                    part_mask,
                    epsilon=cfg.epsilon,
                    beta=cfg.beta,
                    num_tokens=num_tokens,
                    epsilon_high=cfg.epsilon_high,
                    loss_type=cfg.loss_type,
                    importance_sampling_level=cfg.importance_sampling_level,
                    entropy_mask=high_entropy_mask(entropy, part_mask, cfg.top_entropy_quantile)
                    if entropy_filter
                    else None,
                    use_bias_correction_kl=cfg.use_bias_correction_kl,
                    num_sequences=len(batch),
                    max_completion_length=self._max_policy_tokens(),
                    num_micro_batches=len(micro_batches),
                )
                loss.backward()
                totals["loss"] += loss.item() / cfg.num_iterations
                for key, value in stats.items():
                    totals[key] += value.item() / cfg.num_iterations
                if iteration == 0 and entropy is not None:
                    totals["entropy"] += float(entropy.sum() / completion_tokens)
            totals["grad_norm"] += self._clip_and_step(optimizer) / cfg.num_iterations
        return dict(totals)

    def _reference_logprobs(self, batch: Rollout) -> torch.Tensor:
        mb, temp = self.config.micro_batch_size, self.config.temperature
        if self.ref_model is not None:
            return self.policy.batched_logprobs(batch, mb, temp, model=self.ref_model)
        with self.policy.model.disable_adapter():  # LoRA: the base model is the reference
            return self.policy.batched_logprobs(batch, mb, temp)


@dataclass(frozen=True)
class _Round:
    """One generate + score round of a step: ``P`` groups of ``G`` completions."""

    rollout: Rollout
    rewards: torch.Tensor  # [P, G]
    infos: list[dict[str, Any]]  # one per completion
    zero_std: torch.Tensor  # [P] bool: all G rewards equal
    truncated: torch.Tensor  # [P * G] bool: no stop token (cut at max_new_tokens), taken before any padding


def _gather_groups(parts: list[_Round], groups: torch.Tensor, G: int, pad_id: int) -> tuple[Rollout, torch.Tensor]:
    """The rows of ``groups`` (indices into the rounds' groups, in order) as one rollout, and their truncation
    flags. Rounds differ in prompt and completion width, so prompts are left padded and completions right padded
    (mask 0) to the widest; ``completion_logprobs`` trims all-padding columns again."""
    selected, offset = [], 0
    for part in parts:
        local = groups[(groups >= offset) & (groups < offset + len(part.zero_std))] - offset
        rows = (local.unsqueeze(1) * G + torch.arange(G)).flatten()
        if len(rows):
            selected.append((part.rollout.select(rows), part.truncated[rows]))
        offset += len(part.zero_std)
    truncated = torch.cat([t for _, t in selected])
    if len(selected) == 1:
        return selected[0][0], truncated
    rollouts = [r for r, _ in selected]
    prompt_width = max(r.prompt_ids.shape[1] for r in rollouts)
    completion_width = max(r.completion_ids.shape[1] for r in rollouts)

    def padded(values: torch.Tensor, width: int, value: int, left: bool) -> torch.Tensor:
        extra = width - values.shape[1]
        return torch.nn.functional.pad(values, (extra, 0) if left else (0, extra), value=value)

    batch = Rollout(
        prompt_ids=torch.cat([padded(r.prompt_ids, prompt_width, pad_id, True) for r in rollouts]),
        prompt_mask=torch.cat([padded(r.prompt_mask, prompt_width, 0, True) for r in rollouts]),
        completion_ids=torch.cat([padded(r.completion_ids, completion_width, pad_id, False) for r in rollouts]),
        completion_mask=torch.cat([padded(r.completion_mask, completion_width, 0, False) for r in rollouts]),
        texts=[t for r in rollouts for t in r.texts],
    )
    return batch, truncated


__all__ = ["GRPOAgent"]
