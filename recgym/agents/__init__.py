"""Agents act on recgym envs through the Gymnasium API only: baselines, a frozen LLM, GRPO and SFT training.

Names are imported lazily so that the model-free pieces (``RawQueryAgent``, ``evaluate``, ``compare``) do not pull in
torch.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Agent": "recgym.agents.base",
    "evaluate": "recgym.agents.base",
    "compare": "recgym.agents.base",
    "load_agent": "recgym.agents.base",
    "RandomAgent": "recgym.agents.baselines",
    "RawQueryAgent": "recgym.agents.baselines",
    "HFPolicy": "recgym.agents.hf_policy",
    "Rollout": "recgym.agents.hf_policy",
    "SamplingConfig": "recgym.agents.hf_policy",
    "PromptingAgent": "recgym.agents.prompting",
    "PseudoRelevanceFeedbackAgent": "recgym.agents.prf",
    "GRPOAgent": "recgym.agents.grpo.trainer",
    "GRPOConfig": "recgym.agents.grpo.config",
    "SFTAgent": "recgym.agents.sft",
    "SFTConfig": "recgym.agents.sft",
    "SFTPair": "recgym.agents.sft",
    "pairs_from_env": "recgym.agents.sft",
    "load_pairs_jsonl": "recgym.agents.sft",
    "PolicyTrainingConfig": "recgym.agents.train_config",
}

__all__ = [
    "Agent",
    "GRPOAgent",
    "GRPOConfig",
    "HFPolicy",
    "PromptingAgent",
    "PseudoRelevanceFeedbackAgent",
    "RandomAgent",
    "PolicyTrainingConfig",
    "RawQueryAgent",
    "Rollout",
    "SFTAgent",
    "SFTConfig",
    "SFTPair",
    "SamplingConfig",
    "compare",
    "evaluate",
    "load_agent",
    "load_pairs_jsonl",
    "pairs_from_env",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'recgym.agents' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
