"""Settings every trained LLM policy shares (GRPO and SFT): which model, LoRA or full weights, the optimiser, the
schedule, evaluation and checkpoints. Algorithm configs subclass :class:`PolicyTrainingConfig` and add their own
fields; a subclass may re-declare a field to change its default and cite where the new value comes from.
"""

from __future__ import annotations

import dataclasses
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from recgym.allocator import MAX_THRESHOLD_KIB

C = TypeVar("C", bound="PolicyTrainingConfig")

OPTIMIZERS: dict[str, dict[str, bool]] = {"adamw_torch_fused": {"fused": True}, "adamw_torch": {"foreach": True}}
"""``PolicyTrainingConfig.optim`` -> the ``torch.optim.AdamW`` keyword that selects that implementation."""


@dataclass
class PolicyTrainingConfig:
    # ------------------------------------------------------------------------------------------------ model
    model_name_or_path: str | None = None
    """Policy to train: a local folder or a Hub id; ``None`` is the offline default SmolLM2-135M-Instruct
    (``recgym.models.load_default_policy``). Rec-R1 trains Qwen2.5-3B-Instruct."""

    system_prompt: str | None = None
    """Optional system turn before each observation. The env's observation is the full user prompt already
    (Rec-R1 puts its instructions in the user turn), so none by default."""

    response_prefix: str = ""
    """Text the reply starts with, written into the prompt after the chat template's assistant header (an
    "assistant prefill"); the policy writes only what follows, and only that is the action. A prefix such as
    ``"The shopper is looking for a"`` makes even a 135M model's first sampled tokens a product description
    instead of chatter ("Sure! Here is..."), so short completions and the whole sampling budget go to the answer."""

    max_new_tokens: int = 64
    """Completion length cap when the agent acts (evaluation, ``act``)."""

    # ------------------------------------------------------------------------------------------ optimisation
    learning_rate: float = 1e-5
    """AdamW learning rate, constant (no warmup or decay)."""

    weight_decay: float = 0.01
    """AdamW weight decay; verl's actor default (``optim.weight_decay=1e-2``)."""

    optim: str = "adamw_torch"
    """AdamW implementation, by transformers' ``TrainingArguments.optim`` names (so a TRL config carries over):
    ``"adamw_torch"`` (torch's multi-tensor ``foreach`` path; every result in docs/ used it) or
    ``"adamw_torch_fused"`` (one fused kernel; transformers' default on torch >= 2.8). They agree to float rounding,
    not bit for bit. On this CPU the fused kernel changed neither the GRPO step's peak RSS nor its time measurably
    (docs/benchmarks.md: the peak is not in the optimizer step)."""

    mmap_threshold_kib: int | None = None
    """Process-wide, glibc only: allocations of at least this many KiB are served with ``mmap`` and returned to the
    OS when freed (``mallopt(M_MMAP_THRESHOLD)``, set when the trainer is built; :mod:`recgym.allocator`). glibc's
    adaptive threshold otherwise moves the step's MiB-sized activation and gradient blocks to the heap, which
    fragments. At 128 the GRPO step's peak RSS fell 0.08-0.28 GiB (under 4 GiB in every benchmarked configuration)
    but each step took ~20% longer (fresh pages for every block), so it is off (``None``) by default: set it when
    memory, not time, is the limit (docs/benchmarks.md)."""

    max_grad_norm: float = 1.0
    """Gradient-norm clip per optimizer step; verl's actor default (``actor.grad_clip=1.0``)."""

    micro_batch_size: int = 4
    """Sequences per forward/backward. Gradients are accumulated over all micro-batches of a step, so there is one
    optimizer step per pass however the batch is split (gradient accumulation); this only trades memory for
    speed."""

    # ------------------------------------------------------------------------------------------------- LoRA
    lora_r: int = 0
    """LoRA rank; ``0`` fine-tunes all weights (Rec-R1 does). With LoRA only the adapters train and are saved."""

    lora_alpha: int = 32
    """LoRA scaling numerator (effective scale alpha / r); PEFT examples' common choice."""

    lora_dropout: float = 0.0
    """LoRA dropout. 0 keeps recomputed log-probs equal to the sampling ones (ratio exactly 1 on-policy)."""

    lora_target_modules: tuple[str, ...] = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
    """Linear layers that get adapters: every projection of a Llama/Qwen block."""

    # --------------------------------------------------------------------------------------------- schedule
    num_steps: int = 200
    """Training steps (one optimizer step each)."""

    seed: int = 0
    """Seeds the agent's own torch RNG stream (sampling), the LoRA init and the order training examples are visited;
    the global RNGs are never seeded or advanced by training."""

    eval_every: int = 10
    """Evaluate on ``eval_split`` every this many steps (0: never). Rec-R1: ``trainer.test_freq=10``."""

    eval_split: str = "val"
    """Split used for periodic evaluation."""

    eval_max_examples: int | None = 64
    """Evaluate on the first this many examples of ``eval_split`` (``None``: all); keeps evaluation cheap."""

    eval_temperature: float = 0.0
    """Decoding temperature of ``act`` and evaluation; 0 is greedy, so evaluation is deterministic."""

    save_every: int = 100
    """Write a checkpoint every this many steps (0: only at the end). Rec-R1: ``trainer.save_freq=100``."""

    output_dir: str = "runs/policy"
    """Where ``metrics.jsonl`` and ``checkpoints/step-NNNNNN/`` go."""

    def __post_init__(self) -> None:
        self.lora_target_modules = tuple(self.lora_target_modules)
        failed = [rule for rule, ok in self.checks().items() if not ok]
        if failed:
            raise ValueError(f"invalid {type(self).__name__}: need {', '.join(failed)}")

    def checks(self) -> dict[str, bool]:
        """Rule -> whether it holds; subclasses extend it with their own fields' rules."""
        return {
            "micro_batch_size >= 1": self.micro_batch_size >= 1,
            "max_new_tokens >= 1": self.max_new_tokens >= 1,
            "learning_rate > 0": self.learning_rate > 0,
            "num_steps >= 0": self.num_steps >= 0,
            "lora_r >= 0": self.lora_r >= 0,
            "optim in ('adamw_torch_fused', 'adamw_torch')": self.optim in OPTIMIZERS,
            f"mmap_threshold_kib is None or 1 <= mmap_threshold_kib <= {MAX_THRESHOLD_KIB}": self.mmap_threshold_kib
            is None or 1 <= self.mmap_threshold_kib <= MAX_THRESHOLD_KIB,
        }

    # ------------------------------------------------------------------------------------------------- JSON
    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        data["lora_target_modules"] = list(self.lora_target_modules)
        return data

    @classmethod
    def from_dict(cls: type[C], data: dict[str, Any]) -> C:
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown {cls.__name__} field(s) {unknown}; known: {sorted(known)}")
        return cls(**data)

    def save(self, path: str | os.PathLike[str]) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def load(cls: type[C], path: str | os.PathLike[str]) -> C:
        return cls.from_dict(json.loads(Path(path).read_text()))


__all__ = ["PolicyTrainingConfig"]
