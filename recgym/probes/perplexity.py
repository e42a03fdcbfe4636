"""Perplexity of a causal LM on a fixed general-English text: a cheap, generation-free retention signal.

If fine-tuning on product-search prompts damages the model's language modelling, the perplexity of ordinary prose
goes up. The default text (``data/general_english.txt``, a short history of lighthouses written for recgym) is
bundled so the number is comparable across runs and machines.

Definition: ``exp`` of the token-weighted mean negative log-likelihood of every token after the first, each token
predicted from the tokens before it. Texts longer than ``max_length`` tokens are scored with a sliding window (as in
the transformers perplexity guide): windows of ``max_length`` tokens start every ``stride`` tokens, and each window
scores only the tokens not scored by an earlier window, so every token is scored exactly once, with at least
``max_length - stride`` tokens of context (except near the start). Smaller strides give more context and cost more
forwards. The result depends on the tokenizer, so compare a model only with itself (e.g. before/after training).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import torch

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

# data/general_english.txt: ~520 words of plain prose (a short history of lighthouses) written for recgym, not copied
# from anywhere, so it cannot be in any model's pretraining data verbatim. Changing it changes every perplexity.
GENERAL_ENGLISH_PATH = Path(__file__).resolve().parent / "data" / "general_english.txt"


def general_english_text() -> str:
    """The bundled general-English text (about 500 words)."""
    return GENERAL_ENGLISH_PATH.read_text(encoding="utf-8")


@torch.no_grad()
def perplexity(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    text: str | None = None,
    max_length: int = 512,
    stride: int | None = None,
) -> float:
    """Perplexity of ``model`` on ``text`` (default: :func:`general_english_text`).

    Args:
        max_length: Tokens per forward (the window).
        stride: Tokens the window advances by; default ``max_length // 2``. Must be in ``[1, max_length - 1]`` (a
            window's first token is context only, so non-overlapping windows would leave tokens unscored).

    Returns:
        ``exp(mean NLL)`` over all tokens but the first; at least 1.

    The tokenizer's special tokens (e.g. a BOS) are added as it does by default. The model's train/eval mode is
    restored afterwards.
    """
    text = general_english_text() if text is None else text
    stride = max_length // 2 if stride is None else stride
    if max_length < 2 or not 1 <= stride < max_length:
        raise ValueError(f"need max_length >= 2 and 1 <= stride < max_length, got {max_length}, {stride}")
    ids = tokenizer(text, return_tensors="pt")["input_ids"][0]
    if ids.numel() < 2:
        raise ValueError("text must hold at least 2 tokens")
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    total_nll, total_tokens, scored_until = 0.0, 0, 1  # token 0 has no prediction
    try:
        for begin in range(0, ids.numel(), stride):
            end = min(begin + max_length, ids.numel())
            window = ids[begin:end].unsqueeze(0).to(device)
            logits = model(input_ids=window, use_cache=False).logits[0, :-1].float()
            targets = window[0, 1:]
            nll = torch.nn.functional.cross_entropy(logits, targets, reduction="none")
            new = nll[scored_until - begin - 1 :]  # logits row j predicts token begin + j + 1
            total_nll += float(new.sum())
            total_tokens += new.numel()
            scored_until = end
            if end == ids.numel():
                break
    finally:
        model.train(was_training)
    return math.exp(total_nll / total_tokens)

