"""GRPO on a text-action env, CleanRL style: one readable loop in ``GRPOAgent.train``.

Each step: pick ``prompts_per_step`` training examples, put each on ``G`` sub-envs of the vector env (a group),
sample the G completions per prompt in ONE ``generate`` call, score every completion in ONE ``venv.step`` (one
batched recommender call), normalise rewards within groups, skip groups with no spread, then take
``num_iterations`` clipped policy-gradient steps with AdamW. The agent only touches the env through Gymnasium calls.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import AutoModelForCausalLM, AutoTokenizer, PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.base import METRIC_KEYS, evaluate, read_agent_file, unbatch_infos, write_agent_file
from recgym.agents.grpo import checkpoint as ckpt
from recgym.agents.grpo.config import GRPOConfig
from recgym.agents.grpo.loss import clipped_policy_loss, group_advantages
from recgym.agents.hf_policy import HFPolicy, Rollout, SamplingConfig
from recgym.models import load_default_policy, prepare_tokenizer

log = logging.getLogger(__name__)
METRICS_FILE = "metrics.jsonl"
CONFIG_FILE = "config.json"


class GRPOAgent:
    """An LLM policy trained with GRPO on the env's reward.

    Args:
        config: Hyper-parameters (``GRPOConfig()``: Rec-R1's; ``GRPOConfig.cpu()``: a 2-core CPU).
        model, tokenizer: The initial policy; loaded from ``config.model_name_or_path`` when omitted. The agent
            trains this model in place (LoRA adapters are added to it when ``config.lora_r > 0``).
    """

    def __init__(
        self,
        config: GRPOConfig | None = None,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        self.config = config = config or GRPOConfig()
        if model is None:
            model, tokenizer = load_default_policy(config.model_name_or_path)
        elif tokenizer is None:
            raise ValueError("pass the tokenizer together with the model")
        # The KL reference: LoRA gets it for free (adapters disabled); full fine-tuning keeps a frozen copy of the
        # weights it started from.
        self.ref_model = None
        if config.beta > 0 and config.lora_r == 0:
            self.ref_model = copy.deepcopy(model).eval().requires_grad_(False)
        if config.lora_r > 0 and not ckpt.is_peft(model):
            model = _add_lora(model, config)
        self.policy = HFPolicy(model, tokenizer, system_prompt=config.system_prompt)
        self.rollout_sampling = SamplingConfig(config.max_new_tokens, config.temperature, config.top_p)
        self.act_sampling = SamplingConfig(config.max_new_tokens, config.eval_temperature, config.top_p)
        self.optimizer: torch.optim.Optimizer | None = None
        self.step = 0  # completed training steps

    # ------------------------------------------------------------------------------------------------ acting
    def act(self, observations: list[str], infos: list[dict] | None = None) -> list[str]:
        """Decode with the current policy (greedy unless ``config.eval_temperature > 0``), in batches as large as
        a training rollout, which is known to fit in memory."""
        width = self.config.num_envs
        actions: list[str] = []
        for start in range(0, len(observations), width):
            batch = list(observations[start : start + width])
            actions.extend(self.policy.sample(batch, n=1, sampling=self.act_sampling).texts)
        return actions

    # ------------------------------------------------------------------------------------------------ training
    def train(
        self,
        venv: gym.vector.VectorEnv,
        num_steps: int | None = None,
        resume: bool | str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> list[dict[str, Any]]:
        """Train until ``num_steps`` (default ``config.num_steps``) steps are done; returns the step records.

        Args:
            venv: A vector env with ``config.num_envs`` sub-envs (``gym.make_vec(id, num_envs=...)``).
            resume: ``True`` continues from the latest checkpoint in ``config.output_dir`` (fresh if none), a path
                from that checkpoint: weights, optimizer, RNG states and step, so the run continues exactly.
            progress: Show a tqdm bar.
        """
        cfg = self.config
        if venv.num_envs != cfg.num_envs:
            raise ValueError(
                f"venv has {venv.num_envs} sub-envs; GRPO needs num_generations * prompts_per_step = {cfg.num_envs}"
            )
        total = cfg.num_steps if num_steps is None else num_steps
        out = Path(cfg.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        cfg.save(out / CONFIG_FILE)
        start_from = ckpt.latest_checkpoint(out) if resume is True else resume or None
        if start_from is not None:
            self._restore(Path(start_from))
            _truncate_metrics(out / METRICS_FILE, self.step)
        elif self.step == 0:  # a fresh run: seed, and start its log afresh
            ckpt.seed_everything(cfg.seed)
            (out / METRICS_FILE).write_text("")
        num_train = venv.unwrapped.num_examples("train")
        do_eval = cfg.eval_every > 0 and _num_examples(venv, cfg.eval_split) > 0

        history = []
        with open(out / METRICS_FILE, "a") as metrics_log, tqdm(
            total=total, initial=self.step, disable=not progress, desc="GRPO", unit="step"
        ) as bar:
            while self.step < total:
                record = self._train_step(venv, num_train)
                self.step += 1
                record = {"step": self.step, **record}
                if do_eval and self.step % cfg.eval_every == 0:
                    record.update(self._evaluate(venv))
                if (cfg.save_every and self.step % cfg.save_every == 0) or self.step == total:
                    self.save_checkpoint()
                metrics_log.write(json.dumps(record) + "\n")
                metrics_log.flush()
                history.append(record)
                bar.update(1)
                bar.set_postfix({k: f"{record[k]:.3f}" for k in ("reward_mean", "val/reward") if k in record})
        return history

    def _train_step(self, venv: gym.vector.VectorEnv, num_train: int) -> dict[str, Any]:
        cfg, G = self.config, self.config.num_generations
        started = time.perf_counter()

        # 1. This step's training examples; each one is put on G sub-envs (one GRPO group).
        indices = [
            _example_order(cfg.seed, pos // num_train, num_train)[pos % num_train]
            for pos in range(self.step * cfg.prompts_per_step, (self.step + 1) * cfg.prompts_per_step)
        ]
        options = {"indices": [int(i) for i in indices for _ in range(G)], "split": "train"}
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
        params = [p for p in self.policy.model.parameters() if p.requires_grad]

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
            grad_norm = torch.nn.utils.clip_grad_norm_(params, cfg.max_grad_norm)
            totals["grad_norm"] += float(grad_norm) / cfg.num_iterations
            optimizer.step()
        return dict(totals)

    def _reference_logprobs(self, batch: Rollout) -> torch.Tensor:
        mb, temp = self.config.micro_batch_size, self.config.temperature
        if self.ref_model is not None:
            return self.policy.batched_logprobs(batch, mb, temp, model=self.ref_model)
        with self.policy.model.disable_adapter():  # LoRA: the base model is the reference
            return self.policy.batched_logprobs(batch, mb, temp)

    def _evaluate(self, venv: gym.vector.VectorEnv) -> dict[str, Any]:
        started = time.perf_counter()
        result = evaluate(self, venv, split=self.config.eval_split, max_examples=self.config.eval_max_examples)
        metrics = {k: v for k, v in result.items() if isinstance(v, float)}
        return {**{f"val/{k}": v for k, v in metrics.items()}, "val/sec": time.perf_counter() - started}

    def _ensure_optimizer(self) -> torch.optim.Optimizer:
        """AdamW over the trainable parameters (all of them, or only the LoRA adapters), made on first use."""
        if self.optimizer is None:
            params = [p for p in self.policy.model.parameters() if p.requires_grad]
            self.optimizer = torch.optim.AdamW(
                params, lr=self.config.learning_rate, weight_decay=self.config.weight_decay
            )
        return self.optimizer

    # ------------------------------------------------------------------------------------------ persistence
    def save(self, directory: str | os.PathLike[str]) -> None:
        """The policy (full weights, or only the LoRA adapter) and tokenizer in ``directory/policy``, plus the
        config in ``agent.json``."""
        directory = Path(directory)
        self.policy.model.save_pretrained(directory / ckpt.POLICY_DIR)
        self.policy.tokenizer.save_pretrained(directory / ckpt.POLICY_DIR)
        write_agent_file(directory, self, config=self.config.to_dict())

    @classmethod
    def load(
        cls,
        directory: str | os.PathLike[str],
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> GRPOAgent:
        """A saved agent (or checkpoint).

        LoRA agents need their base model: pass it (with its tokenizer), or it is loaded from
        ``config.model_name_or_path``. Full fine-tuned agents are self-contained and ignore ``model``; with
        ``beta > 0`` further training anchors its KL at the loaded weights. To continue a run exactly, use
        ``train(resume=...)`` on an agent built from the original base model instead."""
        _, params = read_agent_file(directory)
        config = GRPOConfig.from_dict(params["config"])
        folder = Path(directory) / ckpt.POLICY_DIR
        if config.lora_r > 0:
            if model is None:
                model, tokenizer = load_default_policy(config.model_name_or_path)
            agent = cls(config, model, tokenizer)  # fresh adapters on the base ...
            ckpt.load_policy_weights(agent.policy.model, folder)  # ... then the trained adapter weights
            return agent
        model = AutoModelForCausalLM.from_pretrained(folder)  # full weights are self-contained
        return cls(config, model, prepare_tokenizer(AutoTokenizer.from_pretrained(folder), model))

    def save_checkpoint(self) -> Path:
        """Atomically write ``checkpoints/step-NNNNNN`` (agent + optimizer + RNG states + step)."""
        target = ckpt.checkpoint_dir(self.config.output_dir, self.step)
        with ckpt.atomic_directory(target) as tmp:
            self.save(tmp)
            ckpt.write_training_state(tmp, self._ensure_optimizer(), self.step)
        return target

    def _restore(self, folder: Path) -> None:
        """Weights, then a fresh optimizer loaded with the saved state, RNG states and the step counter."""
        optimizer_state, rng_state, state = ckpt.read_training_state(folder)
        self.policy.model = ckpt.load_policy_weights(self.policy.model, folder / ckpt.POLICY_DIR).eval()
        self.optimizer = None  # rebuilt over the (possibly new) model's parameters
        self._ensure_optimizer().load_state_dict(optimizer_state)
        ckpt.restore_rng(rng_state)
        self.step = int(state["step"])
        log.info("resumed from %s at step %d", folder, self.step)


# ------------------------------------------------------------------------------------------------ helpers
def _add_lora(model: PreTrainedModel, config: GRPOConfig) -> torch.nn.Module:
    from peft import LoraConfig, get_peft_model

    with torch.random.fork_rng():  # adapter init from the config's seed, whatever the caller's RNG state
        torch.manual_seed(config.seed)
        lora = LoraConfig(
            r=config.lora_r,
            lora_alpha=config.lora_alpha,
            lora_dropout=config.lora_dropout,
            target_modules=list(config.lora_target_modules),
            task_type="CAUSAL_LM",
        )
        return get_peft_model(model, lora)


@functools.lru_cache(maxsize=4)
def _example_order(seed: int, epoch: int, num_examples: int) -> np.ndarray:
    """Training examples are visited in a fresh shuffle each epoch, derived from (seed, epoch) alone so that a
    resumed run needs no sampler state."""
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def _num_examples(venv: gym.vector.VectorEnv, split: str) -> int:
    try:
        return int(venv.unwrapped.num_examples(split))
    except (KeyError, ValueError):  # envs may raise for an empty or unknown split
        return 0


def _truncate_metrics(path: Path, step: int) -> None:
    """Drop log lines past the resumed step (written after the checkpoint by the interrupted run)."""
    if not path.is_file():
        return
    kept = [line for line in path.read_text().splitlines() if line.strip() and json.loads(line)["step"] <= step]
    path.write_text("".join(line + "\n" for line in kept))
