"""Agents for recgym envs: baselines, RM3 pseudo-relevance feedback, a frozen LLM, GRPO and SFT training.

``make_agent(spec, env, **options)`` builds any kind by name and ``load_agent(directory, env)`` any saved agent
(:mod:`recgym.agents.registry` states the convention every agent follows); ``evaluate`` and ``compare`` score them.
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
    "AGENT_KINDS": "recgym.agents.registry",
    "AgentKind": "recgym.agents.registry",
    "make_agent": "recgym.agents.registry",
    "load_agent": "recgym.agents.registry",
    "LLMAgent": "recgym.agents.llm",
    "RandomAgent": "recgym.agents.baselines",
    "RawQueryAgent": "recgym.agents.baselines",
    "HFPolicy": "recgym.agents.hf_policy",
    "Rollout": "recgym.agents.hf_policy",
    "SamplingConfig": "recgym.agents.hf_policy",
    "PromptingAgent": "recgym.agents.prompting",
    "PseudoRelevanceFeedbackAgent": "recgym.agents.prf",
    "PRFSearchAgent": "recgym.agents.scripted",
    "run_episode": "recgym.agents.scripted",
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
    "AGENT_KINDS",
    "Agent",
    "AgentKind",
    "GRPOAgent",
    "GRPOConfig",
    "HFPolicy",
    "LLMAgent",
    "PromptingAgent",
    "PseudoRelevanceFeedbackAgent",
    "RandomAgent",
    "PolicyTrainingConfig",
    "PRFSearchAgent",
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
    "make_agent",
    "pairs_from_env",
    "run_episode",
]


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'recgym.agents' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)


def __dir__() -> list[str]:
    return __all__
