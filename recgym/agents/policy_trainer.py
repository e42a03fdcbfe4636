"""What every trained LLM agent does besides its own update rule: hold the policy (LoRA or full weights), run the
training loop (tqdm bar, ``metrics.jsonl``, periodic evaluation, atomic checkpoints, exact resume), and save its
config (acting, saving and loading are :class:`recgym.agents.llm.LLMAgent`'s). :class:`recgym.agents.GRPOAgent` and
:class:`recgym.agents.SFTAgent` subclass it and supply ``_train_step``: one optimizer step, returning the metrics it
logs.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from pathlib import Path
from typing import Any, ClassVar

import gymnasium as gym
import numpy as np
import torch
from tqdm.auto import tqdm
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents import checkpoint as ckpt
from recgym.agents.base import evaluate, split_size
from recgym.agents.hf_policy import HFPolicy, SamplingConfig
from recgym.agents.llm import LLMAgent, load_saved_policy
from recgym.agents.train_config import OPTIMIZERS, PolicyTrainingConfig
from recgym.allocator import pin_mmap_threshold
from recgym.fileio import atomic_dir, atomic_write_text
from recgym.models import load_default_policy
from recgym.paths import METRICS_FILE, POLICY_DIR

log = logging.getLogger(__name__)
CONFIG_FILE = "config.json"


class PolicyTrainer(LLMAgent):
    """An LLM policy trained on a text-action env; subclasses define the update (``_train_step``).

    Args:
        config: The algorithm's config (``config_class()`` when omitted).
        model, tokenizer: The initial policy; loaded from ``config.model_name_or_path`` when omitted. The agent
            trains this model in place (LoRA adapters are added to it when ``config.lora_r > 0``).
    """

    config_class: ClassVar[type[PolicyTrainingConfig]] = PolicyTrainingConfig
    progress_keys: ClassVar[tuple[str, ...]] = ("val/reward",)
    """Record keys shown on the progress bar."""

    def __init__(
        self,
        config: PolicyTrainingConfig | None = None,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
    ) -> None:
        self.config = config = config or self.config_class()
        if config.mmap_threshold_kib is not None:  # before the model's weights and the first step are allocated
            pin_mmap_threshold(config.mmap_threshold_kib)
        if model is None:
            model, tokenizer = load_default_policy(config.model_name_or_path)
        elif tokenizer is None:
            raise ValueError("pass the tokenizer together with the model")
        if config.lora_r > 0 and not ckpt.is_peft(model):
            model = add_lora(model, config)
        self.policy = HFPolicy(
            model, tokenizer, system_prompt=config.system_prompt, response_prefix=config.response_prefix
        )
        self.act_sampling = SamplingConfig(config.max_new_tokens, config.eval_temperature, self._act_top_p())
        self.act_batch_size = 16
        self.optimizer: torch.optim.Optimizer | None = None
        self.step = 0  # completed training steps
        self.rng = ckpt.TorchRNG(config.seed)  # what training samples with; the caller's RNGs are left alone

    def _act_top_p(self) -> float:
        return 1.0

    # ------------------------------------------------------------------------------------------------ training
    def train(
        self,
        venv: gym.vector.VectorEnv,
        num_steps: int | None = None,
        resume: bool | str | os.PathLike[str] | None = None,
        progress: bool = True,
    ) -> list[dict[str, Any]]:
        """Train until ``num_steps`` (default ``config.num_steps``) steps are done; returns the step records, each
        also appended to ``output_dir/metrics.jsonl``.

        Args:
            venv: The vector env to train (and evaluate) in.
            resume: ``True`` continues from the latest checkpoint in ``config.output_dir`` (fresh if none), a path
                from that checkpoint: weights, optimizer, RNG stream and step, so the run continues exactly.
            progress: Show a tqdm bar.

        Randomness comes from the agent's own stream (``self.rng``, from ``config.seed`` on a fresh run), never from
        the global RNGs: the caller's are neither reseeded nor advanced.
        """
        cfg = self.config
        self._begin_training(venv)
        total = cfg.num_steps if num_steps is None else num_steps
        out = Path(cfg.output_dir)
        out.mkdir(parents=True, exist_ok=True)
        cfg.save(out / CONFIG_FILE)
        ckpt.remove_stale_temporaries(out)  # folders of killed checkpoint writers
        # an explicit path must be a complete checkpoint; `True` takes the newest that verifies, with a warning for
        # each damaged one skipped
        start_from = ckpt.latest_checkpoint(out) if resume is True else resume or None
        if start_from is not None:
            self._restore(Path(start_from))
            repair_metrics(out / METRICS_FILE, self.step)
        elif self.step == 0:  # a fresh run: the stream from the seed, and the log afresh
            self.rng = ckpt.TorchRNG(cfg.seed)
            (out / METRICS_FILE).write_text("")
        do_eval = cfg.eval_every > 0 and num_examples(venv, cfg.eval_split) > 0

        history = []
        with (
            open(out / METRICS_FILE, "a") as metrics_log,
            tqdm(total=total, initial=self.step, disable=not progress, desc=type(self).__name__, unit="step") as bar,
            self.rng.active(),  # sampling (and evaluation) draw from the agent's stream, not the caller's
        ):
            while self.step < total:
                record = self._train_step(venv)
                self.step += 1
                record = {"step": self.step, **record}
                if do_eval and self.step % cfg.eval_every == 0:
                    record.update(self._evaluate(venv))
                # the step's line goes to the log before its checkpoint: a kill in between leaves a line past the
                # checkpoint, which resume drops and logs again, never a checkpointed step without its line
                metrics_log.write(json.dumps(record) + "\n")
                metrics_log.flush()
                if (cfg.save_every and self.step % cfg.save_every == 0) or self.step == total:
                    os.fsync(metrics_log.fileno())  # the log is on disk before a checkpoint vouches for its steps
                    self.save_checkpoint()
                history.append(record)
                bar.update(1)
                bar.set_postfix({k: f"{record[k]:.3f}" for k in self.progress_keys if k in record})
                if record.get("stop_reason"):  # a step may end training early (GRPO's collapse guard)
                    log.warning("training stopped at step %d: %s", self.step, record["stop_reason"])
                    break
        return history

    def _begin_training(self, venv: gym.vector.VectorEnv) -> None:
        """Check (or prepare from) the env before the first step; subclasses override."""

    def _train_step(self, venv: gym.vector.VectorEnv) -> dict[str, Any]:
        raise NotImplementedError

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
                params, lr=self.config.learning_rate, weight_decay=self.config.weight_decay,
                **OPTIMIZERS[self.config.optim],
            )
        return self.optimizer

    def _clip_and_step(self, optimizer: torch.optim.Optimizer) -> float:
        """Clip the accumulated gradients to ``max_grad_norm``, take the step and free the gradients; returns the
        pre-clip norm."""
        params = [p for p in self.policy.model.parameters() if p.requires_grad]
        grad_norm = torch.nn.utils.clip_grad_norm_(params, self.config.max_grad_norm)
        optimizer.step()
        # Freed now rather than at the next step's zero_grad: otherwise a full copy of the weights' size stays
        # resident through the next rollout and reference pass (0.5 GiB for SmolLM2-135M in fp32;
        # benchmarks/grpo_memory.py)
        optimizer.zero_grad(set_to_none=True)
        return float(grad_norm)

    # ------------------------------------------------------------------------------------------ persistence
    def agent_params(self) -> dict[str, Any]:
        return {"config": self.config.to_dict()}

    @classmethod
    def from_saved(cls, params: dict[str, Any], folder: Path, model: PreTrainedModel | None = None,
                   tokenizer: PreTrainedTokenizerBase | None = None) -> PolicyTrainer:
        """A saved agent (or checkpoint).

        LoRA agents need their base model: pass it (with its tokenizer), or it is loaded from
        ``config.model_name_or_path``. Full fine-tuned agents are self-contained and ignore ``model``. To continue
        a run exactly, use ``train(resume=...)`` on an agent built from the original base model instead."""
        config = cls.config_class.from_dict(params["config"])
        if config.lora_r > 0:
            if model is None:
                model, tokenizer = load_default_policy(config.model_name_or_path)
            agent = cls(config, model, tokenizer)  # fresh adapters on the base ...
            ckpt.load_policy_weights(agent.policy.model, folder)  # ... then the trained adapter weights
            return agent
        return cls(config, *load_saved_policy(folder))  # full weights are self-contained

    def save_checkpoint(self) -> Path:
        """Atomically write ``checkpoints/step-NNNNNN`` (agent + optimizer + RNG stream + step); a checkpoint of the
        same step is replaced."""
        target = ckpt.checkpoint_dir(self.config.output_dir, self.step)
        with atomic_dir(target, replace=True) as tmp:
            self.save(tmp)
            ckpt.write_training_state(tmp, self._ensure_optimizer(), self.rng, self.step)
            ckpt.write_manifest(tmp, self.step)  # last: a manifest vouches for a finished folder
        return target

    def _restore(self, folder: Path) -> None:
        """Weights, then a fresh optimizer loaded with the saved state, the RNG stream and the step counter.

        The checkpoint is verified as a whole first (:func:`ckpt.verify_checkpoint`), so a damaged one fails with
        a :class:`ckpt.CheckpointError` naming it before any state changes, and its step is the manifest's."""
        manifest = ckpt.verify_checkpoint(folder)
        optimizer_state, rng_state, _ = ckpt.read_training_state(folder)
        try:
            self.policy.model = ckpt.load_policy_weights(self.policy.model, folder / POLICY_DIR).eval()
            self.optimizer = None  # rebuilt over the (possibly new) model's parameters
            self._ensure_optimizer().load_state_dict(optimizer_state)
        except Exception as err:  # e.g. a checkpoint of another model or LoRA rank: name the folder, not a tensor
            raise ckpt.CheckpointError(f"{folder}: cannot load into this agent ({type(err).__name__}: {err})") from err
        self.rng.set_state(rng_state)
        self.step = int(manifest["step"])
        log.info("resumed from %s at step %d", folder, self.step)


# ------------------------------------------------------------------------------------------------ helpers
def add_lora(model: PreTrainedModel, config: PolicyTrainingConfig) -> torch.nn.Module:
    """``model`` with LoRA adapters on ``config.lora_target_modules``, initialised from ``config.seed``."""
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
def example_order(seed: int, epoch: int, num_examples: int) -> np.ndarray:
    """Training examples are visited in a fresh shuffle each epoch, derived from (seed, epoch) alone so that a
    resumed run needs no sampler state."""
    return np.random.default_rng([seed, epoch]).permutation(num_examples)


def visit_order(seed: int, start: int, count: int, num_examples: int) -> list[int]:
    """Example indices at positions ``start .. start + count`` of the epoch-by-epoch shuffled stream."""
    return [
        int(example_order(seed, pos // num_examples, num_examples)[pos % num_examples])
        for pos in range(start, start + count)
    ]


def num_examples(venv: gym.vector.VectorEnv, split: str) -> int:
    """Examples in ``split`` of the env (its reset info's ``split_size``), 0 for an empty or unknown split."""
    return split_size(venv, split)


def repair_metrics(path: Path, step: int) -> None:
    """Make the log hold exactly one line for each step up to the resumed ``step``, atomically.

    Lines past ``step`` (logged after the checkpoint by the interrupted run, which this run repeats) go, as does a
    half-written last line (a kill mid-write); of repeated steps the last line stays. Steps missing below ``step``
    (lost by versions that checkpointed before logging) cannot be recovered and are reported."""
    if not path.is_file():
        return
    by_step: dict[int, str] = {}
    lines = path.read_bytes().split(b"\n")
    for lineno, raw in enumerate(lines, 1):
        if not raw.strip():
            continue
        try:
            record_step = int(json.loads(raw)["step"])
        except (ValueError, KeyError, TypeError):
            if lineno < len(lines):  # terminated, so not the torn tail of a killed write: worth a word
                log.warning("%s, line %d: dropping an unreadable metrics line", path, lineno)
            continue
        if record_step <= step:
            by_step[record_step] = raw.decode("utf-8", "replace")
    if missing := sorted(set(range(1, step + 1)) - set(by_step)):
        log.warning("%s lacks the lines of steps %s (lost by an earlier interrupted run)", path, missing)
    atomic_write_text(path, "".join(by_step[s] + "\n" for s in sorted(by_step)))
