"""Supervised fine-tuning of the same HF policy GRPO trains: the baseline of Rec-R1's RL-vs-SFT comparison.

Each step takes ``batch_size`` (prompt, completion) pairs in a seeded epoch-wise shuffle, and minimises the mean
negative log-likelihood of the completion tokens (prompt tokens are not trained on), with gradient accumulation
over micro-batches and one AdamW step. The loop around it (logging, evaluation in the env, checkpoints, resume) is
:class:`PolicyTrainer`'s, so SFT and GRPO runs log and save alike.
"""

from __future__ import annotations

import time
from typing import Any

import gymnasium as gym
import torch
from transformers import PreTrainedModel, PreTrainedTokenizerBase

from recgym.agents.base import search_budget
from recgym.agents.policy_trainer import PolicyTrainer, visit_order
from recgym.agents.scripted import PRFSearchAgent
from recgym.agents.sft.config import SFTConfig
from recgym.agents.sft.pairs import SFTPair, load_pairs_jsonl, pairs_from_env
from recgym.agents.sft.transcripts import transcripts_from_agent


class SFTAgent(PolicyTrainer):
    """An LLM policy fine-tuned on (prompt -> completion) pairs with the token-level cross-entropy.

    Args:
        config: Hyper-parameters (``SFTConfig.cpu()`` for a 2-core CPU).
        model, tokenizer: The initial policy (default: ``config.model_name_or_path``).
        pairs: The training pairs. When omitted they come from ``config.pairs_file`` or, failing that, are mined
            from the training env's labels when ``train`` starts (:func:`pairs_from_env`); on a search-agent env
            they are the scripted PRF agent's episodes instead (:func:`transcripts_from_agent`).

    ``train(venv)`` uses the env only for those labels and for periodic evaluation; any number of sub-envs works.
    """

    config_class = SFTConfig
    progress_keys = ("loss", "val/reward")
    config: SFTConfig

    def __init__(
        self,
        config: SFTConfig | None = None,
        model: PreTrainedModel | None = None,
        tokenizer: PreTrainedTokenizerBase | None = None,
        pairs: list[SFTPair] | None = None,
    ) -> None:
        super().__init__(config, model, tokenizer)
        self.pairs = pairs

    def _begin_training(self, venv: gym.vector.VectorEnv) -> None:
        if self.pairs is None:
            cfg = self.config
            if cfg.pairs_file is not None:
                self.pairs = load_pairs_jsonl(cfg.pairs_file, venv)
            elif search_budget(venv) is not None:  # the agent env: a scripted agent's episodes, env text masked
                teacher = PRFSearchAgent(venv, fb_docs=cfg.prf_fb_docs, fb_terms=cfg.prf_fb_terms)
                self.pairs = transcripts_from_agent(teacher, venv, "train")
            else:
                self.pairs = pairs_from_env(venv, "train", cfg.target_items)
        if not self.pairs:
            raise ValueError("SFT needs at least one training pair")

    def _train_step(self, venv: gym.vector.VectorEnv) -> dict[str, Any]:
        started = time.perf_counter()
        assert self.pairs is not None
        cfg = self.config
        picked = [self.pairs[i] for i in visit_order(cfg.seed, self.step * cfg.batch_size, cfg.batch_size,
                                                     len(self.pairs))]
        return {**self.update(picked), "sec_per_step": time.perf_counter() - started}

    def update(self, pairs: list[SFTPair]) -> dict[str, float]:
        """One optimizer step on ``pairs``: mean NLL per completion token over the whole batch (each micro-batch
        divides by the batch's token count, so splitting does not change the gradient)."""
        cfg = self.config
        optimizer = self._ensure_optimizer()
        batch = self.policy.teacher_forced(
            [p.prompt for p in pairs], [p.completion for p in pairs], cfg.max_target_tokens
        )
        num_tokens = batch.completion_mask.sum()
        optimizer.zero_grad(set_to_none=True)
        total = 0.0
        for start in range(0, len(batch), cfg.micro_batch_size):
            part = batch.select(slice(start, start + cfg.micro_batch_size))
            logp, _ = self.policy.token_logprobs(part)
            loss = -(logp * part.completion_mask).sum() / num_tokens
            loss.backward()
            total += loss.item()
        grad_norm = self._clip_and_step(optimizer)
        return {"loss": total, "target_tokens": float(num_tokens), "grad_norm": grad_norm}

    @torch.no_grad()
    def nll(self, pairs: list[SFTPair]) -> float:
        """Mean NLL per completion token of ``pairs`` under the current policy (no update)."""
        batch = self.policy.teacher_forced(
            [p.prompt for p in pairs], [p.completion for p in pairs], self.config.max_target_tokens
        )
        logp, _ = self.policy.token_logprobs(batch)
        return float(-(logp * batch.completion_mask).sum() / batch.completion_mask.sum())


__all__ = ["SFTAgent"]
