"""KV-cache sharing for batches of prompts that start alike.

RL prompts are one template around a short request, so a batch's prompts share most of their tokens (Rec-R1's are
150-400 tokens around a 5-20 token query), and a GRPO group repeats one prompt G times. Prompts are therefore laid
out *prefix-aligned*: ``[shared prefix | padding | own suffix]``, the prefix being the tokens every prompt of the
batch starts with. The prefix is run through the model ONCE (batch 1) and its KV cache is repeated to every row,
both when sampling and when scoring completions for the loss (with gradients: the cache is built inside the autograd
graph and repeating it sums the rows' gradients back into the one prefix, so the result is exact, not an
approximation). Identical rows (a group's contexts after the same search) run once too. Positions follow the
attention mask, so the padding between prefix and suffix changes nothing; a batch without a useful shared prefix
falls back to plain left padding.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import torch

MIN_SHARED_PREFIX = 8
"""Shortest shared prefix worth a separate forward; shorter ones are simply recomputed per row."""


def shared_prefix_length(rows: Sequence[Sequence[int]]) -> int:
    """How many leading tokens all ``rows`` have in common, leaving every row at least one token of its own."""
    if not rows:
        return 0
    first, limit = rows[0], min(len(r) for r in rows) - 1
    shared = 0
    while shared < limit and all(r[shared] == first[shared] for r in rows):
        shared += 1
    return shared


def prefix_aligned(rows: Sequence[Sequence[int]], shared: int, pad_id: int) -> tuple[torch.Tensor, torch.Tensor]:
    """``(ids, mask)`` laid out ``[first shared tokens | padding | rest]``; ``shared=0`` is plain left padding."""
    width = max(len(r) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        rest = len(row) - shared
        ids[i, :shared], ids[i, width - rest :] = torch.tensor(row[:shared]), torch.tensor(row[shared:])
        mask[i, :shared], mask[i, width - rest :] = 1, 1
    return ids, mask


def shared_columns(ids: torch.Tensor, mask: torch.Tensor) -> int:
    """Leading columns that are real tokens and identical in every row (the prefix one forward can serve)."""
    same = (ids == ids[:1]).all(dim=0) & mask.bool().all(dim=0)
    return int(same.long().cumprod(dim=0).sum())


@torch.no_grad()
def prompt_cache(
    model: torch.nn.Module, prompt_ids: torch.Tensor, prompt_mask: torch.Tensor, rows: torch.Tensor
) -> Any:
    """The KV cache of every prompt column but the last, for the rows ``rows`` (row ``i`` of the result is prompt
    ``rows[i]``; a prompt may serve several rows, or none): the shared prefix runs once, each prompt's own suffix
    once."""
    num_prompts, width = prompt_ids.shape
    shared = min(shared_columns(prompt_ids, prompt_mask), width - 1)
    if shared < MIN_SHARED_PREFIX and shared < width - 1:
        shared = 0
    cache = prefix_cache(model, prompt_ids[:1, :shared], num_prompts) if shared else None
    if shared < width - 1:
        positions = (prompt_mask.cumsum(dim=1) - 1).clamp(min=0)
        inputs = {} if cache is None else {cache_keyword(model): cache}
        if accepts_logits_to_keep(model):
            inputs["logits_to_keep"] = 1
        cache = model(
            input_ids=prompt_ids[:, shared : width - 1],
            attention_mask=prompt_mask[:, : width - 1],
            position_ids=positions[:, shared : width - 1],
            use_cache=True,
            **inputs,
        ).past_key_values
    cache.batch_select_indices(rows.to(prompt_ids.device))
    return cache


def prefix_cache(model: torch.nn.Module, prefix_ids: torch.Tensor, rows: int) -> Any:
    """The KV cache of ``prefix_ids`` (``[1, S]``) repeated to ``rows`` rows. Built with gradients when they are
    enabled: the repeat's backward sums every row's gradient into the prefix's."""
    keep = {"logits_to_keep": 1} if accepts_logits_to_keep(model) else {}
    out = model(input_ids=prefix_ids, use_cache=True, **keep)
    cache = out.past_key_values
    cache.batch_repeat_interleave(rows)
    return cache


def _forward_parameters(model: torch.nn.Module) -> Any:
    base = model.get_base_model() if hasattr(model, "get_base_model") else model
    return inspect.signature(base.forward).parameters


def cache_keyword(model: torch.nn.Module) -> str:
    """transformers 5.24 renamed ``past_key_values`` to ``cache`` (the old name warns, and goes in 5.40)."""
    return "cache" if "cache" in _forward_parameters(model) else "past_key_values"


def accepts_logits_to_keep(model: torch.nn.Module) -> bool:
    """Whether the underlying transformers model's forward takes ``logits_to_keep`` (PEFT wrappers pass it on)."""
    return "logits_to_keep" in _forward_parameters(model)


__all__ = [
    "MIN_SHARED_PREFIX", "accepts_logits_to_keep", "cache_keyword", "prefix_aligned", "prefix_cache", "prompt_cache",
    "shared_columns", "shared_prefix_length",
]
