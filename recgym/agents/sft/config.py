"""SFT settings: the supervised baseline of Rec-R1's second comparison (RL vs SFT on the same policy). Shared fields
(model, LoRA, schedule, evaluation, checkpoints) are documented in
:class:`recgym.agents.train_config.PolicyTrainingConfig`.
"""

from __future__ import annotations

from dataclasses import dataclass

from recgym.agents.train_config import PolicyTrainingConfig


@dataclass
class SFTConfig(PolicyTrainingConfig):
    # ------------------------------------------------------------------------------------------------ data
    pairs_file: str | None = None
    """JSONL of supervised pairs, one object per line: ``{"prompt": ..., "completion": ...}`` (TRL's
    prompt-completion format), or ``{"example_id": ..., "completion": ...}`` whose prompt is the env's observation
    of that training example (e.g. rewrites written by a stronger LLM, as the paper's GPT-4o SFT data). ``None``
    mines pairs from the env's training split (:func:`recgym.agents.sft.pairs_from_env`), which needs no
    network."""

    prf_fb_docs: int = 3
    """On a search-agent env (``RecR1/*-Agent-v0``) without ``pairs_file``, the pairs are the episodes of the
    scripted :class:`~recgym.agents.PRFSearchAgent` (:func:`recgym.agents.sft.transcripts_from_agent`: a format
    warm start that reads no labels): the titles its RM3 reads (at most the env's ``results_per_search``)."""

    prf_fb_terms: int = 3
    """... and the expansion words it answers with (3: short answers; on the shop's val split the single-step PRF
    with 3 titles and 3 words beats the raw query, 10 words do not)."""

    target_items: int = 1
    """Mined pairs: how many of an example's most relevant items' titles make up the target query."""

    max_target_tokens: int = 64
    """Targets are cut to this many tokens (plus the end-of-turn token) before training."""

    # ------------------------------------------------------------------------------------------ optimisation
    batch_size: int = 8
    """Pairs per optimizer step (split into ``micro_batch_size`` pieces with gradient accumulation)."""

    learning_rate: float = 2e-5
    """AdamW learning rate, constant. TRL's ``SFTConfig`` default (2e-5)."""

    num_steps: int = 100
    """Optimizer steps; pairs are visited in a fresh seeded shuffle each epoch."""

    output_dir: str = "runs/sft"
    """Where ``metrics.jsonl`` and ``checkpoints/step-NNNNNN/`` go."""

    def checks(self) -> dict[str, bool]:
        return {
            **super().checks(),
            "batch_size >= 1": self.batch_size >= 1,
            "target_items >= 1": self.target_items >= 1,
            "prf_fb_docs >= 1": self.prf_fb_docs >= 1,
            "prf_fb_terms >= 1": self.prf_fb_terms >= 1,
            "max_target_tokens >= 1": self.max_target_tokens >= 1,
        }

    @classmethod
    def cpu(cls, **overrides: object) -> SFTConfig:
        """Settings for SmolLM2-135M on a 2-core CPU: full fine-tuning, 8 short pairs per step, 1 torch thread
        advised."""
        preset: dict[str, object] = {
            "batch_size": 8,
            "micro_batch_size": 8,
            "max_new_tokens": 48,
            "num_steps": 60,
            "eval_every": 0,
            "save_every": 0,
            "output_dir": "runs/sft-cpu",
        }
        preset.update(overrides)
        return cls(**preset)  # type: ignore[arg-type]


__all__ = ["SFTConfig"]
