"""General-ability retention probes: does a policy still follow ordinary instructions after RL training?

Rec-R1 (arXiv 2503.24289) reports that GRPO keeps the LLM's general abilities where SFT loses them (SFT dropped
~27 IFEval points). These probes measure that for any causal LM: run one before and after ``recgym train`` and
compare. See docs/probes.md.

``run_probe("ifeval", model, tokenizer)`` returns ``ifeval/prompt_strict``, ``ifeval/prompt_loose``,
``ifeval/inst_strict``, ``ifeval/inst_loose`` (IFEval accuracies in [0, 1]), ``perplexity`` (on a bundled
general-English text), ``ifeval/num_prompts`` and the other counts; the non-scalar values are
``ifeval/skipped_instruction_ids``, ``ifeval/excluded_prompt_keys`` and ``ifeval/records`` (per-prompt detail).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from recgym.probes.ifeval import load_prompts, run_ifeval_probe, score_responses
from recgym.probes.instructions import CHECKERS, check_instruction
from recgym.probes.perplexity import perplexity

if TYPE_CHECKING:
    from transformers import PreTrainedModel, PreTrainedTokenizerBase

__all__ = [
    "CHECKERS",
    "PROBES",
    "PROBE_COLUMNS",
    "check_instruction",
    "ifeval_probe",
    "load_prompts",
    "perplexity",
    "run_ifeval_probe",
    "run_probe",
    "score_responses",
]

PROBE_COLUMNS: dict[str, str] = {
    "ifeval/prompt_strict": "IF prompt strict",
    "ifeval/prompt_loose": "IF prompt loose",
    "ifeval/inst_strict": "IF inst strict",
    "ifeval/inst_loose": "IF inst loose",
    "perplexity": "perplexity",
}
"""Probe result key -> table header, for ``recgym eval --probe``."""

SCALAR_KEYS = ("prompt_strict", "prompt_loose", "inst_strict", "inst_loose", "num_prompts", "num_instructions",
               "num_skipped_instructions", "num_excluded_prompts", "max_new_tokens", "generation_seconds")


def ifeval_probe(
    model: PreTrainedModel,
    tokenizer: PreTrainedTokenizerBase,
    *,
    with_perplexity: bool = True,
    perplexity_max_length: int = 512,
    **kwargs: Any,
) -> dict[str, Any]:
    """IFEval accuracies (:func:`run_ifeval_probe`, which takes ``prompts``, ``max_new_tokens``, ``batch_size``,
    ``system_prompt`` and ``progress``) plus the general-English :func:`perplexity`, in one flat dict with
    ``ifeval/``-prefixed keys."""
    result = run_ifeval_probe(model, tokenizer, **kwargs)
    flat: dict[str, Any] = {f"ifeval/{key}": result[key] for key in SCALAR_KEYS}
    if with_perplexity:
        flat["perplexity"] = perplexity(model, tokenizer, max_length=perplexity_max_length)
    flat["ifeval/source"] = result["source"]
    flat["ifeval/skipped_instruction_ids"] = result["skipped_instruction_ids"]
    flat["ifeval/excluded_prompt_keys"] = result["excluded_prompt_keys"]
    flat["ifeval/records"] = result["records"]
    return flat


PROBES: dict[str, Callable[..., dict[str, Any]]] = {"ifeval": ifeval_probe}
"""Probe name -> ``fn(model, tokenizer, **kwargs) -> dict``."""


def run_probe(name: str, model: PreTrainedModel, tokenizer: PreTrainedTokenizerBase, **kwargs: Any) -> dict[str, Any]:
    """Run a registered probe by name (what ``recgym eval --probe NAME`` calls)."""
    if name not in PROBES:
        raise ValueError(f"unknown probe {name!r}; choose from {sorted(PROBES)}")
    return PROBES[name](model, tokenizer, **kwargs)
